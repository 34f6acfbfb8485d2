"""A graph flow ordered by its data, with a decider that skips a branch.

No task here is linked by hand except one: every other edge comes from a
task requiring what another provides. The one explicit link carries a
decider: when the fraud score is too high, charging (and shipping, which
needs the receipt) is skipped rather than failed, and the flow still
succeeds.

Run it: ``python examples/graph_decider.py``
"""

from greenflow import GraphFlow, Task, load

ORDERS = {
    "A-1": {"customer": "ada", "total": 40},
    "B-2": {"customer": "bob", "total": 9000},
}


class FetchOrder(Task):
    def execute(self, order_id):
        return ORDERS[order_id]


class ScoreFraud(Task):
    def execute(self, order):
        return 90 if order["total"] > 1000 else 10


class Charge(Task):
    def execute(self, order):
        return f"receipt for {order['total']}"


class Ship(Task):
    def execute(self, order, receipt):
        return f"parcel to {order['customer']} ({receipt})"


class Acknowledge(Task):
    # Needs only the order, so it runs whatever the decider says.
    def execute(self, order):
        return f"thanks, {order['customer']}"


def low_risk(history):
    # ``history`` maps the names of the link source's atoms to their results.
    return history["score_fraud"] < 50


def build():
    score = ScoreFraud("score_fraud", provides="risk")
    charge = Charge("charge", provides="receipt")
    flow = GraphFlow("checkout").add(
        # Added in no particular order: the graph sorts them by their data.
        Ship("ship", provides="tracking"),
        charge,
        Acknowledge("acknowledge", provides="note"),
        score,
        FetchOrder("fetch_order", provides="order"),
    )
    # Charge does not need the score, so this ordering must be explicit; the
    # decider's "no" reaches everything after charge (depth ALL), so ship is
    # skipped too.
    flow.link(score, charge, decider=low_risk, decider_depth="ALL")
    return flow


ATOMS = ("fetch_order", "score_fraud", "charge", "ship", "acknowledge")


def main():
    flow = build()
    for order_id in sorted(ORDERS):
        engine = load(flow, store={"order_id": order_id})
        engine.run()
        print(f"order {order_id}: flow {engine.storage.get_flow_state()}")
        for name in ATOMS:
            print(f"  {name:<12} {engine.storage.get_atom_state(name)}")
        results = engine.storage.fetch_all()
        print("  tracking:", results.get("tracking", "-"))
        print("  note:", results["note"])


if __name__ == "__main__":
    main()

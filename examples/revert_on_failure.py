"""A trip booking that fails at the last step and undoes the earlier ones.

When a task fails, the engine reverts every task that ran, newest first, so
each ``revert`` can undo exactly what its ``execute`` did (it receives that
result). ``run()`` then re-raises the original exception.

Run it: ``python examples/revert_on_failure.py``
"""

from greenflow import LinearFlow, Task, load

# What the "outside world" saw, in order; kept here so the output can show it.
LOG = []


class Reserve(Task):
    def execute(self, trip):
        booking = f"{self.name}:{trip}"
        LOG.append(f"booked {booking}")
        return booking

    def revert(self, trip, result, flow_failures):
        # ``result`` is what execute returned: the reservation to cancel.
        LOG.append(f"cancelled {result}")


class ChargeCard(Task):
    def execute(self, trip, card):
        raise RuntimeError(f"card {card} declined")

    def revert(self, trip, card, result, flow_failures):
        # The failed task is reverted too; its ``result`` is the Failure.
        LOG.append(f"charge not made ({result.exception_str})")


def main():
    flow = LinearFlow("book-trip").add(
        Reserve("flight", provides="flight"),
        Reserve("hotel", provides="hotel"),
        Reserve("car", provides="car"),
        ChargeCard("charge"),
    )
    engine = load(flow, store={"trip": "lisbon", "card": "4111"})
    try:
        engine.run()
    except RuntimeError as exc:
        # The task's own exception comes back, not a wrapper.
        print("run() raised:", type(exc).__name__, exc)
    for line in LOG:
        print(" ", line)
    print("flow state:", engine.storage.get_flow_state())
    for name in ("flight", "hotel", "car", "charge"):
        print(f"  {name:<7} {engine.storage.get_atom_state(name)}")


if __name__ == "__main__":
    main()

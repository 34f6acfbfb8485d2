"""Fan out with an unordered flow, then gather every result in one task.

The three lookups do not depend on each other, so an unordered flow lets the
engine run them in any order (at once under the parallel engine). The
gathering task comes after them in a linear flow, so it sees all three.

Run it: ``python examples/unordered_fanout.py``
"""

from greenflow import LinearFlow, Task, UnorderedFlow, load

PRICES = {"north": 12, "south": 7, "east": 30}


class Quote(Task):
    # One class, many instances: ``inject`` gives each its own region, and
    # ``provides`` gives each result a distinct name.
    def execute(self, region):
        return PRICES[region]


class Cheapest(Task):
    def execute(self, north, south, east):
        quotes = {"north": north, "south": south, "east": east}
        best = min(quotes, key=quotes.get)
        return best, quotes[best]


def build():
    quotes = UnorderedFlow("quotes")
    for region in sorted(PRICES):
        quotes.add(Quote(f"quote_{region}", provides=region, inject={"region": region}))
    return LinearFlow("shop").add(quotes, Cheapest("cheapest", provides="best"))


def main():
    flow = build()
    for kind in ("serial", "parallel"):
        # The same flow object runs on both engines: its compiled graph is
        # shared, and each engine keeps its own results. The parallel engine
        # picks its executor from the hub (a thread pool without green threads).
        engine = load(flow, engine=kind)
        engine.run()
        region, price = engine.storage.fetch("best")
        print(f"{kind}: cheapest is {region} at {price}")
        # Results are printed in a fixed order: with the parallel engine the
        # quotes may finish in any order.
        print("  quotes:", {r: engine.storage.fetch(r) for r in sorted(PRICES)})


if __name__ == "__main__":
    main()

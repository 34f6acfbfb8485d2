"""A graph flow is ordered by what its tasks require and provide, plus explicit links."""

from taskflow import engines, task
from taskflow.patterns import graph_flow


class Add(task.Task):
    def execute(self, x, y):
        print(f"{self.name}: {x} + {y}")
        return x + y


class Log(task.Task):
    def execute(self):
        print(f"{self.name} runs")


flow = graph_flow.Flow("math")
total = Add("total", rebind={"x": "a", "y": "b"}, provides="ab")
grand = Add("grand", rebind={"x": "ab", "y": "c"}, provides="abc")
first, last = Log("first"), Log("last")
flow.add(grand, last, total, first)
flow.link(first, total)
flow.link(grand, last)
results = engines.run(flow, store={"a": 1, "b": 2, "c": 3})
print(results["ab"], results["abc"])

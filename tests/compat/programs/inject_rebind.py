"""Binding arguments: ``inject`` per task, ``rebind`` by list and by dict, extra ``requires``."""

from taskflow import engines, task
from taskflow.patterns import linear_flow


class Describe(task.Task):
    def execute(self, name, size, **extra):
        return f"{name}:{size}:{sorted(extra.items())}"


flow = linear_flow.Flow("binding").add(
    Describe("injected", inject={"size": 1}, provides="r1"),
    Describe("by-list", rebind=["server", "disk"], provides="r2"),
    Describe("by-dict", rebind={"size": "disk"}, provides="r3"),
    Describe("extra", requires=["zone"], provides="r4"),
)
results = engines.run(flow, store={"name": "vm", "size": 2, "server": "srv", "disk": 40, "zone": "z1"})
for key in ("r1", "r2", "r3", "r4"):
    print(key, results[key])
print(sorted(Describe("x", requires=["zone"]).requires))

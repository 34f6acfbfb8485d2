"""A link's decider skips its target (and, by default, what follows) when it says no."""

from taskflow import engines, states, task
from taskflow.patterns import graph_flow, linear_flow


class Check(task.Task):
    def execute(self, size):
        print(f"checking size {size}")
        return size > 10


class Act(task.Task):
    def execute(self):
        print(f"{self.name} runs")
        return self.name


def build(size):
    flow = graph_flow.Flow(f"decide-{size}")
    check = Check("check", provides="big")
    big = linear_flow.Flow("big-branch").add(Act("resize"), Act("notify"))
    flow.add(check, big)
    flow.link(check, big, decider=lambda history: history["check"])
    return flow


for size in (5, 50):
    engine = engines.load(build(size), store={"size": size})
    engine.run()
    for name in ("check", "resize", "notify"):
        print(f"  {name}: {engine.storage.get_atom_state(name)}")
    print("  ignored:", engine.storage.get_atom_state("resize") == states.IGNORE)

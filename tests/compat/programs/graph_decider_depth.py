"""``decider_depth`` limits how far a decider's "no" reaches: ATOM skips only the link's target."""

from taskflow import deciders, engines, task
from taskflow.patterns import graph_flow


class Step(task.Task):
    def execute(self):
        print(f"{self.name} runs")
        return self.name


for depth in ("ATOM", deciders.Depth.ALL):
    flow = graph_flow.Flow("depths")
    a, b, c = Step("a", provides="ra"), Step("b", provides="rb"), Step("c")
    flow.add(a, b, c)
    flow.link(a, b, decider=lambda history: False, decider_depth=depth)
    flow.link(b, c)
    engine = engines.load(flow)
    engine.run()
    print(str(getattr(depth, "value", depth)), [engine.storage.get_atom_state(n) for n in "abc"])

"""``DurationListener`` stores each task's duration in its detail's meta; the printing one says so."""

import re

from taskflow import engines, task
from taskflow.listeners import timing
from taskflow.patterns import linear_flow
from taskflow.utils import persistence_utils


class Quick(task.Task):
    def execute(self):
        return 1


flow = linear_flow.Flow("timed").add(Quick("q1"), Quick("q2"))
_, flow_detail = persistence_utils.temporary_flow_detail()
engine = engines.load(flow, flow_detail=flow_detail)
with timing.DurationListener(engine):
    engine.run()
for atom in sorted((a for a in flow_detail if a.name in ("q1", "q2")), key=lambda a: a.name):
    print(atom.name, isinstance(atom.meta.get("duration"), float))
print("flow", isinstance(flow_detail.meta.get("duration"), float))

lines = []
engine = engines.load(linear_flow.Flow("timed2").add(Quick("q3")))
with timing.PrintingDurationListener(engine, printer=lines.append):
    engine.run()
for line in lines:
    print(re.sub(r"\d+\.\d\d", "N.NN", line))

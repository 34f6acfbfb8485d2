"""Suspend a run recorded in a temporary flow detail, then resume it with a new engine."""

from taskflow import engines, states, task
from taskflow.patterns import linear_flow
from taskflow.persistence import backends
from taskflow.utils import persistence_utils


class Step(task.Task):
    def execute(self):
        print(f"execute {self.name}")
        return self.name


def make_flow():
    return linear_flow.Flow("steps").add(Step("s1"), Step("s2"), Step("s3"))


backend = backends.fetch("memory://")
book, flow_detail = persistence_utils.temporary_flow_detail(backend)
engine = engines.load(make_flow(), flow_detail=flow_detail, book=book, backend=backend)


def stop_after_s1(state, details):
    if details["task_name"] == "s1":
        engine.suspend()


engine.atom_notifier.register(states.SUCCESS, stop_after_s1)
engine.run()
print("after first run:", flow_detail.state, [a.state for a in sorted(flow_detail, key=lambda a: a.name)])

engine2 = engines.load(make_flow(), flow_detail=flow_detail, backend=backend)
engine2.run()
print("after resume:", flow_detail.state, [a.state for a in sorted(flow_detail, key=lambda a: a.name)])

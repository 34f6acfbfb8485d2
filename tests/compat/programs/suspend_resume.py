"""Suspending from a notification; a second ``run()`` resumes without redoing finished tasks."""

from taskflow import engines, states, task
from taskflow.patterns import linear_flow


class Step(task.Task):
    def execute(self):
        print(f"execute {self.name}")


flow = linear_flow.Flow("suspendable").add(Step("one"), Step("two"), Step("three"))
engine = engines.load(flow)


def maybe_suspend(state, details):
    if details["task_name"] == "two":
        print("suspending")
        engine.suspend()


engine.atom_notifier.register(states.SUCCESS, maybe_suspend)
engine.run()
print(engine.storage.get_flow_state(), engine.storage.get_atom_state("three"))
engine.atom_notifier.deregister(states.SUCCESS, maybe_suspend)
engine.run()
print(engine.storage.get_flow_state(), engine.storage.get_atom_state("three"))

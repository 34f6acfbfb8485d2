"""``AlwaysRevert`` in a nested flow hands the decision to the enclosing ``Times``."""

from taskflow import engines, retry, task
from taskflow.patterns import linear_flow

state = {"runs": 0}


class Work(task.Task):
    def execute(self):
        state["runs"] += 1
        print(f"{self.name} run {state['runs']}")
        if state["runs"] < 2:
            raise ValueError("not yet")

    def revert(self, **kwargs):
        print(f"revert {self.name}")


class Prepare(task.Task):
    def execute(self):
        print("prepare")

    def revert(self, **kwargs):
        print("revert prepare")


inner = linear_flow.Flow("inner", retry=retry.AlwaysRevert("inner-retry")).add(Work("work"))
outer = linear_flow.Flow("outer", retry=retry.Times(3, "outer-retry")).add(Prepare("prepare"), inner)
engine = engines.load(outer)
engine.run()
print(engine.storage.get_flow_state(), len(engine.storage.get_retry_history("outer-retry")))

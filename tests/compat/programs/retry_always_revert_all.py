"""``AlwaysRevertAll`` reverts the whole flow, whatever the enclosing retry would say."""

from taskflow import engines, retry, task
from taskflow.patterns import linear_flow


class Work(task.Task):
    def execute(self):
        print(f"execute {self.name}")
        if self.name == "fail":
            raise ValueError("broken")

    def revert(self, **kwargs):
        print(f"revert {self.name}")


inner = linear_flow.Flow("inner", retry=retry.AlwaysRevertAll("inner-retry")).add(Work("fail"))
outer = linear_flow.Flow("outer", retry=retry.Times(3, "outer-retry")).add(Work("first"), inner)
engine = engines.load(outer)
try:
    engine.run()
except ValueError as exc:
    print(f"caught: {exc}")
print(engine.storage.get_flow_state(), len(engine.storage.get_retry_history("outer-retry")))

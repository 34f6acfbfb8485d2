"""A late failure reverts the tasks that ran, newest first, then the exception is re-raised."""

from taskflow import engines, task
from taskflow.patterns import linear_flow
from taskflow.types import failure


class Step(task.Task):
    def execute(self):
        print(f"execute {self.name}")
        return self.name

    def revert(self, result, flow_failures, **kwargs):
        print(f"revert {self.name} (result={result!r}, failed={sorted(flow_failures)})")


class Boom(task.Task):
    def execute(self):
        print("execute boom")
        raise OSError("disk on fire")

    def revert(self, result, **kwargs):
        print(f"revert boom: {isinstance(result, failure.Failure)} {result.exception_str}")


flow = linear_flow.Flow("deploy").add(Step("a"), Step("b"), Boom("boom"))
engine = engines.load(flow)
try:
    engine.run()
except OSError as exc:
    print(f"caught {type(exc).__name__}: {exc}")
print(engine.storage.get_flow_state())
for name in ("a", "b", "boom"):
    print(name, engine.storage.get_atom_state(name))

"""``CaptureListener`` records ``(kind, state, details)`` for every transition."""

from taskflow import engines, retry, task
from taskflow.listeners import capturing
from taskflow.patterns import linear_flow


class Once(task.Task):
    def execute(self, attempt):
        if attempt == 1:
            raise ValueError("first try fails")
        return attempt


flow = linear_flow.Flow("cap", retry=retry.Times(2, "r", provides="attempt")).add(Once("once"))
engine = engines.load(flow)
with capturing.CaptureListener(engine) as capture:
    engine.run()
for kind, state, details in capture.values:
    name = details.get(f"{kind}_name")
    print(kind, name, state, details.get("old_state"), details.get("result", "-"))

engine = engines.load(linear_flow.Flow("cap2").add(Once("once2")), store={"attempt": 5})
with capturing.CaptureListener(engine, capture_flow=False, skip_tasks=["nothing"]) as capture:
    engine.run()
print([(kind, state) for kind, state, _ in capture.values])

"""``Times`` re-runs its flow until a flaky task succeeds; its result is the attempt number."""

from taskflow import engines, retry, task
from taskflow.patterns import linear_flow

calls = []


class Flaky(task.Task):
    def execute(self, attempt):
        calls.append(attempt)
        print(f"attempt {attempt}")
        if attempt < 3:
            raise RuntimeError(f"try {attempt} failed")
        return "done"

    def revert(self, **kwargs):
        print("revert flaky")


flow = linear_flow.Flow("flaky", retry=retry.Times(5, provides="attempt")).add(Flaky("flaky", provides="out"))
print(engines.run(flow)["out"], calls)

give_up = linear_flow.Flow("give-up", retry=retry.Times(2, provides="attempt")).add(Flaky("flaky2"))
try:
    engines.run(give_up)
except RuntimeError as exc:
    print(f"gave up: {exc}")

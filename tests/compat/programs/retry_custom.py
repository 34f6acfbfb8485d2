"""A custom ``Retry``: on_failure looks at the history and decides RETRY or REVERT."""

from taskflow import engines, retry, task
from taskflow.patterns import linear_flow


class RetryOnTimeout(retry.Retry):
    def execute(self, history, *args, **kwargs):
        return len(history) * 10

    def on_failure(self, history, *args, **kwargs):
        if history.caused_by(TimeoutError) and len(history) < 3:
            print(f"timeout seen, retrying (attempt {len(history)})")
            return retry.RETRY
        print("giving up")
        return retry.REVERT

    def revert(self, history, *args, **kwargs):
        print(f"retry revert after {len(history)} attempts")


class Call(task.Task):
    def execute(self, delay):
        print(f"call with delay {delay}")
        if delay < 20:
            raise TimeoutError(f"timed out at {delay}")
        return delay


flow = linear_flow.Flow("calls", retry=RetryOnTimeout("timeouts", provides="delay")).add(Call(provides="d"))
print(engines.run(flow)["d"])
print(retry.RETRY == retry.Decision.RETRY, retry.REVERT_ALL.value)

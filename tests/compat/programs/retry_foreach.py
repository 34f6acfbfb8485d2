"""``ForEach`` tries each value in turn until the flow succeeds with one."""

from taskflow import engines, retry, task
from taskflow.patterns import linear_flow


class Connect(task.Task):
    def execute(self, host):
        print(f"connecting to {host}")
        if host != "db3":
            raise ConnectionError(f"{host} is down")
        return f"connected to {host}"


flow = linear_flow.Flow("connect", retry=retry.ForEach(["db1", "db2", "db3"], provides="host"))
flow.add(Connect(provides="conn"))
engine = engines.load(flow)
engine.run()
print(engine.storage.fetch("conn"))
history = engine.storage.get_retry_history("connect_retry")
print(len(history), list(history.provided_iter()))
for result, failures in history:
    print(result, {name: f.exception_str for name, f in failures.items()})

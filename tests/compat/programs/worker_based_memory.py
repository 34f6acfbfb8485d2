"""Worker-based engine: tasks run on a worker (kombu's in-memory transport) serving their class."""

import sys
import threading

from taskflow import engines, task
from taskflow.engines.worker_based import worker as worker_module
from taskflow.patterns import linear_flow, unordered_flow


class Double(task.Task):
    def execute(self, x):
        return 2 * x


class Add(task.Task):
    def execute(self, left, right):
        return left + right


worker = worker_module.Worker(
    exchange="compat-exchange",
    topic="compat-topic",
    tasks=[Double, Add],
    transport="memory",
)
runner = threading.Thread(target=worker.run, daemon=True)
runner.start()
worker.wait()
try:
    flow = linear_flow.Flow("remote").add(
        unordered_flow.Flow("pair").add(
            Double("left", provides="left", rebind={"x": "a"}),
            Double("right", provides="right", rebind={"x": "b"}),
        ),
        Add("sum", provides="total"),
    )
    engine = engines.load(
        flow,
        engine="worker-based",
        transport="memory",
        exchange="compat-exchange",
        topics=["compat-topic"],
        store={"a": 2, "b": 5},
    )
    engine.run()
    print("total:", engine.storage.fetch("total"))
    print("state:", engine.storage.get_flow_state())
finally:
    worker.stop()
    sys.stdout.flush()

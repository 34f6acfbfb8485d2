"""A parallel engine runs independent tasks at once on threads; a barrier proves they overlap."""

import threading

from taskflow import engines, task
from taskflow.patterns import linear_flow, unordered_flow

barrier = threading.Barrier(3, timeout=10)


class Fetch(task.Task):
    def execute(self, region):
        barrier.wait()
        return f"{region}:{self.name}"


class Merge(task.Task):
    def execute(self, a, b, c):
        return sorted([a, b, c])


fetches = unordered_flow.Flow("fetch").add(
    Fetch("fa", provides="a"), Fetch("fb", provides="b"), Fetch("fc", provides="c")
)
flow = linear_flow.Flow("parallel").add(fetches, Merge(provides="merged"))
print(
    engines.run(flow, store={"region": "eu"}, engine="parallel", executor="threaded", max_workers=3)["merged"]
)

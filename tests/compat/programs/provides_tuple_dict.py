"""``provides`` as a tuple names a result's items by position; as a set, a dict result's keys."""

from taskflow import engines, task
from taskflow.patterns import linear_flow


class Pair(task.Task):
    def execute(self):
        return ("left", "right")


class Record(task.Task):
    def execute(self):
        return {"id": 42, "owner": "ann", "unused": True}


class Use(task.Task):
    def execute(self, first, second, id, owner):
        return f"{first}/{second}/{id}/{owner}"


flow = linear_flow.Flow("provides").add(
    Pair(provides=("first", "second")), Record(provides={"id", "owner"}), Use(provides="joined")
)
results = engines.run(flow)
print(results["joined"])
print(sorted(results))

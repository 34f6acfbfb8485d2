"""``ParameterizedForEach`` takes its values from storage (here, injected with ``store``)."""

from taskflow import engines, retry, task
from taskflow.patterns import linear_flow


class Allocate(task.Task):
    def execute(self, size):
        print(f"allocating {size} GB")
        if size > 10:
            raise MemoryError(f"{size} GB is too much")
        return size


flow = linear_flow.Flow("alloc", retry=retry.ParameterizedForEach(rebind=["sizes"], provides="size"))
flow.add(Allocate(provides="allocated"))
print(engines.run(flow, store={"sizes": [40, 20, 8, 4]})["allocated"])

flow = linear_flow.Flow("alloc2", retry=retry.ParameterizedForEach(rebind=["sizes"], provides="size"))
flow.add(Allocate())
try:
    engines.run(flow, store={"sizes": [50, 60]})
except MemoryError as exc:
    print(f"no size fits: {exc}")

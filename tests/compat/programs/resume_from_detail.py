"""``load_from_factory`` records how to rebuild the flow; ``load_from_detail`` resumes it."""

from taskflow import engines, states, task
from taskflow.patterns import linear_flow
from taskflow.persistence import backends, models


class Count(task.Task):
    def execute(self, n):
        print(f"counting {self.name} {n}")
        return n + 1


def count_flow(steps):
    flow = linear_flow.Flow("counter")
    for i in range(steps):
        flow.add(Count(f"c{i}", provides=f"n{i + 1}", rebind=[f"n{i}"]))
    return flow


backend = backends.fetch({"connection": "memory://"})
book = models.LogBook("counting")
engine = engines.load_from_factory(count_flow, factory_args=[3], store={"n0": 0}, backend=backend, book=book)
engine.atom_notifier.register(states.SUCCESS, lambda state, details: engine.suspend())
engine.run()
flow_detail = next(iter(book))
print("first run:", flow_detail.state)

rebuilt = engines.flow_from_detail(flow_detail)
print("rebuilt:", rebuilt.name, len(rebuilt))
resumed = engines.load_from_detail(flow_detail, backend=backend)
resumed.run()
print("resumed:", flow_detail.state, resumed.storage.fetch("n3"))

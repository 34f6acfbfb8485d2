"""A run recorded in a memory backend: the logbook, its flow detail and the atom details."""

import contextlib

from taskflow import engines, task
from taskflow.patterns import linear_flow
from taskflow.persistence import backends, models


class Double(task.Task):
    def execute(self, x):
        return 2 * x


backend = backends.fetch({"connection": "memory://"})
with contextlib.closing(backend.get_connection()) as conn:
    conn.upgrade()
book = models.LogBook("my-book")
flow = linear_flow.Flow("doubling").add(Double("d1", provides="y"), Double("d2", rebind=["y"], provides="z"))
engine = engines.load(flow, store={"x": 3}, backend=backend, book=book)
engine.run()

with contextlib.closing(backend.get_connection()) as conn:
    stored = conn.get_logbook(book.uuid)
print(stored.name, len(stored))
for flow_detail in stored:
    print(flow_detail.name, flow_detail.state)
    for atom in sorted((a for a in flow_detail if a.name in ("d1", "d2")), key=lambda a: a.name):
        print(" ", atom.name, type(atom).__name__, atom.state, atom.results)

"""``executor='greenthreaded'`` runs tasks as green threads; sleeping tasks overlap."""
# compat-hubs: eventlet

import time

from taskflow import engines, task
from taskflow.patterns import unordered_flow


class Nap(task.Task):
    def execute(self):
        time.sleep(0.2)
        return self.name


flow = unordered_flow.Flow("naps").add(*(Nap(f"nap{i}", provides=f"n{i}") for i in range(20)))
started = time.monotonic()
results = engines.run(flow, engine="parallel", executor="greenthreaded")
elapsed = time.monotonic() - started
print(sorted(results.values())[:3], len(results))
print("overlapped:", elapsed < 2.0)

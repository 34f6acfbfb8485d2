"""Engine selection: keyword form, an engine URI with options, and the legacy ``engine_conf``."""

import warnings

from taskflow import engines, task
from taskflow.patterns import unordered_flow


class Id(task.Task):
    def execute(self, v):
        return v


def flow():
    return unordered_flow.Flow("ids").add(*(Id(f"i{n}", provides=f"o{n}", inject={"v": n}) for n in range(3)))


print(sorted(engines.run(flow(), engine="serial").values()))
print(sorted(engines.run(flow(), engine="parallel", executor="threaded").values()))
print(sorted(engines.run(flow(), engine="parallel://?executor=threaded&max_workers=2").values()))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    print(sorted(engines.run(flow(), engine_conf={"engine": "parallel"}).values()))
    print(sorted(engines.run(flow(), engine_conf="serial").values()))

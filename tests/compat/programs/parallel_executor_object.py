"""A parallel engine given an executor object uses it (and leaves it running for other engines)."""

from concurrent import futures

from taskflow import engines, task
from taskflow.patterns import unordered_flow


class Echo(task.Task):
    def execute(self, value):
        return value * 2


with futures.ThreadPoolExecutor(max_workers=2) as pool:
    for run in range(2):
        flow = unordered_flow.Flow(f"echo-{run}").add(
            *(Echo(f"e{i}", provides=f"r{i}", inject={"value": i + run}) for i in range(4))
        )
        results = engines.run(flow, engine="parallel", executor=pool)
        print(run, [results[f"r{i}"] for i in range(4)])
    print("pool still usable:", pool.submit(lambda: "yes").result())

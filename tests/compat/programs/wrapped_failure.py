"""Two tasks failing in one parallel run surface as a ``WrappedFailure`` holding both failures."""

import threading

from taskflow import engines, exceptions, task
from taskflow.patterns import unordered_flow

barrier = threading.Barrier(2, timeout=10)


class Fails(task.Task):
    def execute(self, error):
        barrier.wait()
        raise error(f"{self.name} failed")


flow = unordered_flow.Flow("both-fail").add(
    Fails("f1", inject={"error": ValueError}), Fails("f2", inject={"error": TypeError})
)
try:
    engines.run(flow, engine="parallel", executor="threaded", max_workers=2)
except exceptions.WrappedFailure as wrapped:
    print("wrapped:", len(wrapped))
    print(sorted(f.exception_str for f in wrapped))
    print("check ValueError:", wrapped.check(ValueError) is not None)
    print("check KeyError:", wrapped.check(KeyError))

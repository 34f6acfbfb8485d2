"""Run a stream of workflows with ``run_many``: bounded concurrency, one outcome each.

``run_many`` takes any iterable (here a generator, consumed lazily) of flows,
``(flow, store)`` pairs or engines, keeps at most ``concurrency`` engines in
flight, reports each outcome as it arrives, and returns a summary. One flow's
failure never stops the others.

Without green threads (this example patches nothing) one thread drives every
engine and the tasks run on a shared, bounded thread pool: 200 engines here
use 8 worker threads, not 200 threads.

Run it: ``python examples/run_many_batch.py``
"""

import threading
import time

from greenflow import LinearFlow, Task, UnorderedFlow, run_many
from greenflow.executors import ThreadExecutor


class Lookup(Task):
    def execute(self, request_id):
        time.sleep(0.002)  # stands in for a call to a remote service
        return f"user-{request_id}"


class Check(Task):
    def execute(self, request_id, user):
        time.sleep(0.002)
        if self.name == "quota" and request_id % 50 == 49:
            raise PermissionError(f"{user} may not do this")
        return True


class Grant(Task):
    def execute(self, user, quota_ok, policy_ok):
        return f"granted to {user}"


def requests(count):
    """A stream of (flow, inputs) pairs; run_many pulls from it as slots free up."""
    for request_id in range(count):
        flow = LinearFlow(f"request-{request_id}").add(
            Lookup(provides="user"),
            UnorderedFlow("checks").add(
                Check("quota", provides="quota_ok"),
                Check("policy", provides="policy_ok"),
            ),
            Grant(provides="grant"),
        )
        yield flow, {"request_id": request_id}


def main():
    pool = ThreadExecutor(max_workers=8)
    threads_before = threading.active_count()
    finished = []
    summary = run_many(
        requests(200),
        concurrency=50,
        executor=pool,
        on_result=lambda outcome: finished.append(outcome.index),
    )
    print("engines run:", summary.total)
    print("succeeded:", summary.succeeded, "reverted:", summary.counts.get("REVERTED", 0))
    print("outcomes reported as they came:", len(finished))
    first_ok = min((o for o in summary.outcomes if o.ok), key=lambda o: o.index)
    print("first result:", first_ok.name, "->", first_ok.results["grant"])
    for outcome in sorted(summary.failures(), key=lambda o: o.index):
        print("failed:", outcome.name, outcome.state, "-", outcome.failure.exception_str)
    extra = threading.active_count() - threads_before
    print("worker threads used (at most 8):", extra <= 8)
    pool.shutdown()


if __name__ == "__main__":
    main()

"""The offload executor: task bodies on native OS threads, the hub free meanwhile."""

from __future__ import annotations

import threading
import time

from greenflow import LinearFlow, Task, UnorderedFlow, load
from greenflow.executors import OffloadExecutor


class WhereAmI(Task):
    """Blocks its thread (a stand-in for CPU work or a blocking C call) and says where it ran."""

    def execute(self) -> int:
        deadline = time.perf_counter() + 0.2
        while time.perf_counter() < deadline:  # busy: never yields to a hub
            pass
        return threading.get_native_id()


def test_offloaded_atoms_run_on_native_threads_while_the_hub_keeps_running(hub, ticker):
    flow = LinearFlow("offload").add(WhereAmI("a", provides="a"), WhereAmI("b", provides="b"))
    engine = load(flow, executor="offload")
    before = ticker.count
    engine.run()
    main = threading.get_native_id()
    assert engine.storage.fetch("a") != main
    assert engine.storage.fetch("b") != main
    # 0.4 s of busy work happened off this OS thread: the ticker (5 ms period) kept going.
    assert ticker.count - before >= 20


def test_offload_executor_shared_by_a_parallel_engine_runs_atoms_side_by_side(hub):
    executor = OffloadExecutor(max_workers=3, hub=hub)
    try:
        flow = UnorderedFlow("side").add(*(WhereAmI(f"t{i}", provides=f"t{i}") for i in range(3)))
        engine = load(flow, engine="parallel", executor=executor)
        engine.run()
        ids = {engine.storage.fetch(f"t{i}") for i in range(3)}
        assert threading.get_native_id() not in ids
    finally:
        executor.shutdown()

"""The demo workload: a batch of "provision a server" workflows, some failing, some retried.

Each workflow is linear(allocate, unordered(network, volume, image),
boot under a retry, notify); every task waits a few milliseconds, as a call
to a remote agent would, and all workflows run at once through ``run_many``.
A fixed share of boots fail once (the retry
recovers them) and a fixed share fail for good (the flow reverts, freeing
what was allocated). The outcome is deterministic for a given seed.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from greenflow import states
from greenflow.atoms import Task, Times
from greenflow.engines import run_many
from greenflow.hubs import get_hub
from greenflow.patterns import LinearFlow, UnorderedFlow

__all__ = ["DemoReport", "build_server_flow", "run_demo"]


class BootError(Exception):
    """The simulated hypervisor refused to boot the server."""


def _remote_call(latency: float) -> None:
    # Patched under a green hub: the wait lets every other workflow run.
    if latency:
        time.sleep(latency)


class _Allocate(Task):
    default_provides = "host"

    def execute(self, request_id: int, latency: float) -> str:
        _remote_call(latency)
        return f"host-{request_id % 7}"

    def revert(self, request_id: int, ledger: Counter[str], **kwargs: Any) -> None:
        ledger["hosts released"] += 1


class _Attach(Task):
    def execute(self, host: str, latency: float) -> str:
        _remote_call(latency)
        return f"{self.name}@{host}"


class _Boot(Task):
    default_provides = "server"

    def __init__(self, name: str, fail_times: int) -> None:
        super().__init__(name)
        self._fail_times = fail_times
        self.attempts = 0

    def execute(self, host: str, network: str, volume: str, image: str, latency: float) -> str:
        _remote_call(latency)
        self.attempts += 1
        if self.attempts <= self._fail_times:
            raise BootError(f"boot on {host} failed (attempt {self.attempts})")
        return f"server on {host}"


class _Notify(Task):
    def execute(self, server: str) -> str:
        return f"ready: {server}"


def build_server_flow(request_id: int = 0, fail_times: int = 0) -> LinearFlow:
    """One provisioning workflow; its boot fails ``fail_times`` times before succeeding."""
    flow = LinearFlow(f"provision-{request_id}")
    flow.add(
        _Allocate("allocate"),
        UnorderedFlow("attach").add(
            _Attach("network", provides="network"),
            _Attach("volume", provides="volume"),
            _Attach("image", provides="image"),
        ),
        LinearFlow("boot", retry=Times(2, revert_all=True)).add(_Boot("boot_server", fail_times)),
        _Notify("notify"),
    )
    return flow


@dataclass(frozen=True)
class DemoReport:
    """What the demo ran and how it went."""

    workflows: int
    outcomes: dict[str, int]
    hosts_released: int
    seconds: float
    hub: str
    concurrency: int
    latency_ms: float
    os_threads: int

    def lines(self) -> list[str]:
        """The printed summary."""
        rate = self.workflows / self.seconds if self.seconds else float("inf")
        out = [
            f"ran {self.workflows} provisioning workflows in {self.seconds:.3f} s ({rate:,.0f} workflows/s)",
            f"  hub {self.hub}, up to {self.concurrency} at once, {self.latency_ms:g} ms per remote call, "
            f"{self.os_threads} OS threads at the end",
        ]
        for state in (states.SUCCESS, states.REVERTED, states.FAILURE):
            out.append(f"  {state:<9} {self.outcomes.get(state, 0)}")
        out.append(f"  hosts released by reverts {self.hosts_released}")
        return out


def run_demo(
    workflows: int = 1000,
    seed: int = 7,
    engine: str = "parallel",
    concurrency: int = 1000,
    latency_ms: float = 5.0,
) -> DemoReport:
    """Run the batch with ``run_many``; 10% of boots fail once (retried), 5% for good (reverted)."""
    rng = random.Random(seed)
    ledger: Counter[str] = Counter()
    latency = latency_ms / 1000.0

    def requests() -> Iterator[tuple[LinearFlow, dict[str, Any]]]:
        for request_id in range(workflows):
            roll = rng.random()
            fail_times = 5 if roll < 0.05 else (1 if roll < 0.15 else 0)
            store = {"request_id": request_id, "ledger": ledger, "latency": latency}
            yield build_server_flow(request_id, fail_times), store

    hub = get_hub()
    started = time.perf_counter()
    summary = run_many(
        requests(), concurrency=concurrency, engine=engine, keep_outcomes=False, collect_results=False
    )
    elapsed = time.perf_counter() - started
    return DemoReport(
        workflows,
        dict(summary.counts),
        ledger["hosts released"],
        elapsed,
        hub.name,
        concurrency,
        latency_ms,
        threading.active_count(),
    )

"""The demo workload: a batch of "provision a server" workflows, some failing, some retried.

Each workflow is linear(allocate, unordered(network, volume, image),
boot under a retry, notify). A fixed share of boots fail once (the retry
recovers them) and a fixed share fail for good (the flow reverts, freeing
what was allocated). The outcome is deterministic for a given seed.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from greenflow import states
from greenflow.atoms import Task, Times
from greenflow.engines import load
from greenflow.patterns import LinearFlow, UnorderedFlow

__all__ = ["DemoReport", "build_server_flow", "run_demo"]


class BootError(Exception):
    """The simulated hypervisor refused to boot the server."""


class _Allocate(Task):
    default_provides = "host"

    def execute(self, request_id: int) -> str:
        return f"host-{request_id % 7}"

    def revert(self, request_id: int, ledger: Counter[str], **kwargs: Any) -> None:
        ledger["hosts released"] += 1


class _Attach(Task):
    def execute(self, host: str) -> str:
        return f"{self.name}@{host}"


class _Boot(Task):
    default_provides = "server"

    def __init__(self, name: str, fail_times: int) -> None:
        super().__init__(name)
        self._fail_times = fail_times
        self.attempts = 0

    def execute(self, host: str, network: str, volume: str, image: str) -> str:
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
    tasks_executed: int
    tasks_reverted: int
    hosts_released: int
    seconds: float

    def lines(self) -> list[str]:
        """The printed summary."""
        rate = self.workflows / self.seconds if self.seconds else float("inf")
        per_atom = self.seconds / max(1, self.tasks_executed + self.tasks_reverted) * 1e6
        out = [
            f"ran {self.workflows} provisioning workflows in {self.seconds:.3f} s ({rate:,.0f} workflows/s)"
        ]
        for state in (states.SUCCESS, states.REVERTED, states.FAILURE):
            out.append(f"  {state:<9} {self.outcomes.get(state, 0)}")
        out.append(
            f"  atoms executed {self.tasks_executed}, reverted {self.tasks_reverted} "
            f"({per_atom:.1f} us per atom, task bodies included)"
        )
        out.append(f"  hosts released by reverts {self.hosts_released}")
        return out


def run_demo(workflows: int = 1000, seed: int = 7, engine: str = "serial") -> DemoReport:
    """Run the batch; 10% of boots fail once (retried), 5% fail for good (reverted)."""
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    executed = reverted = 0
    ledger: Counter[str] = Counter()
    started = time.perf_counter()
    for request_id in range(workflows):
        roll = rng.random()
        fail_times = 5 if roll < 0.05 else (1 if roll < 0.15 else 0)
        eng = load(
            build_server_flow(request_id, fail_times),
            store={"request_id": request_id, "ledger": ledger},
            engine=engine,
        )
        try:
            eng.run()
        except BootError:
            pass
        outcomes[eng.storage.get_flow_state()] += 1
        stats = eng.statistics
        executed += stats.atoms_executed
        reverted += stats.atoms_reverted
    elapsed = time.perf_counter() - started
    return DemoReport(workflows, dict(outcomes), executed, reverted, ledger["hosts released"], elapsed)

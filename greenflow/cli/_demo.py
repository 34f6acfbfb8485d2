"""The demo workload: a batch of "provision a server" workflows, some failing, some retried.

Each workflow is linear(allocate, unordered(network, volume, image), boot
under a retry, notify); every task waits a few milliseconds, as a call to a
remote agent would, and all workflows run at once through ``run_many``,
every transition recorded in a persistence backend (an embedded SQLite file
by default). A fixed share of boots fail once (the retry recovers them) and
a fixed share fail for good (the flow reverts, freeing what was allocated).
The outcome is deterministic for a given seed.

One flow object serves every workflow (it is compiled once); what differs
between workflows is in each one's store, so it is recorded with the run.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from greenflow import states
from greenflow.atoms import EVENT_UPDATE_PROGRESS, Task, Times
from greenflow.engines import Engine, Outcome, load, run_many
from greenflow.hubs import get_hub
from greenflow.masking import mask_url
from greenflow.notifier import ANY
from greenflow.patterns import LinearFlow, UnorderedFlow
from greenflow.persistence import fetch_backend

__all__ = ["DemoReport", "build_server_flow", "os_threads", "run_demo"]

#: The final states the summary always lists, in this order.
SHOWN_STATES: Final = (states.SUCCESS, states.REVERTED, states.FAILURE)


class BootError(Exception):
    """The simulated hypervisor refused to boot the server."""


class Ledger:
    """What the demo's tasks saw: hosts released by reverts, and the OS threads they ran on."""

    def __init__(self) -> None:
        self.hosts_released = 0
        self.threads: set[int] = set()

    def remote_call(self, latency: float) -> None:
        """Wait like a call to a remote agent (patched under a green hub: others run meanwhile)."""
        self.threads.add(threading.get_native_id())
        if latency:
            time.sleep(latency)


class _DemoTask(Task):
    def __init__(self, name: str, ledger: Ledger, provides: str | None = None) -> None:
        super().__init__(name, provides=provides)
        self.ledger = ledger


class _Allocate(_DemoTask):
    default_provides = "host"

    def execute(self, request_id: int, latency: float) -> str:
        self.ledger.remote_call(latency)
        return f"host-{request_id % 7}"

    def revert(self, result: Any, **kwargs: Any) -> str:
        self.ledger.hosts_released += 1
        return f"released {result}"


class _Attach(_DemoTask):
    def execute(self, host: str, latency: float) -> str:
        self.ledger.remote_call(latency)
        return f"{self.name}@{host}"


class _Boot(_DemoTask):
    default_provides = "server"

    def execute(
        self, host: str, network: str, volume: str, image: str, latency: float, attempt: int, fail_times: int
    ) -> str:
        self.ledger.remote_call(latency)
        if attempt <= fail_times:
            raise BootError(f"boot on {host} failed (attempt {attempt})")
        return f"server on {host}"


class _Notify(_DemoTask):
    def execute(self, server: str) -> str:
        return f"ready: {server}"


def build_server_flow(ledger: Ledger | None = None) -> LinearFlow:
    """The provisioning workflow; a run's ``fail_times`` store value makes its boot fail that often.

    ``ledger`` counts the hosts that reverts release and the OS threads the tasks ran on.
    """
    ledger = ledger if ledger is not None else Ledger()
    flow = LinearFlow("provision")
    flow.add(
        _Allocate("allocate", ledger),
        UnorderedFlow("attach").add(
            _Attach("network", ledger, provides="network"),
            _Attach("volume", ledger, provides="volume"),
            _Attach("image", ledger, provides="image"),
        ),
        LinearFlow("boot", retry=Times(2, provides="attempt", revert_all=True)).add(
            _Boot("boot_server", ledger)
        ),
        _Notify("notify", ledger),
    )
    return flow


def os_threads() -> int:
    """How many OS threads this process has now (``/proc``; the interpreter's count elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return threading.active_count()


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


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
    process_threads: int
    peak_rss: int
    p50: float
    p99: float
    backend: str
    flow_uuids: tuple[str, ...]

    @property
    def rate(self) -> float:
        """Workflows per second."""
        return self.workflows / self.seconds if self.seconds else float("inf")

    def rows(self) -> list[tuple[str, str]]:
        """The summary as ``(label, value)`` rows."""
        out = [
            ("workflows", f"{self.workflows:,}"),
            ("hub", f"{self.hub} (up to {self.concurrency:,} at once)"),
            ("OS threads", f"{self.os_threads} (ran the tasks of all workflows)"),
            ("process threads", f"{self.process_threads} at most (with helpers, e.g. a database writer)"),
            ("wall time", f"{self.seconds:.2f} s"),
            ("workflows/s", f"{self.rate:,.0f}"),
            ("workflow latency p50", _seconds(self.p50)),
            ("workflow latency p99", _seconds(self.p99)),
            ("remote call", f"{self.latency_ms:g} ms per task"),
            ("peak RSS", f"{self.peak_rss / 2**20:.0f} MiB"),
        ]
        out.extend((state, f"{self.outcomes.get(state, 0):,}") for state in SHOWN_STATES)
        others = sorted((s, n) for s, n in self.outcomes.items() if s not in SHOWN_STATES)
        out.extend((state, f"{n:,}") for state, n in others)
        out.append(("hosts released by reverts", f"{self.hosts_released:,}"))
        out.append(("recorded in", mask_url(self.backend)))
        return out


class Progress:
    """Called with each outcome; shows how far the batch is (a live bar, or periodic lines)."""

    def __init__(self, total: int, live: bool, interval: float) -> None:
        self.total = total
        self.counts: Counter[str] = Counter()
        self.done = 0
        self.started = 0
        self.transitions = 0
        self.peak_threads = os_threads()
        self._interval = interval
        self._started = time.perf_counter()
        self._last = 0.0
        self._bar: Any = None
        self._task: Any = None
        if live:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]provisioning"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[states]}"),
                auto_refresh=False,  # refreshed from the callback: no refresh thread
            )
            self._task = self._bar.add_task("demo", total=total, states="")
            self._bar.start()

    def _states(self) -> str:
        return ", ".join(f"{self.counts[s]:,} {s}" for s in SHOWN_STATES if self.counts[s])

    def update(self) -> None:
        """Show the current counts now."""
        self.peak_threads = max(self.peak_threads, os_threads())
        if self._bar is not None:
            in_flight = f"{self.started - self.done:,} in flight, {self.transitions:,} atom transitions"
            self._bar.update(
                self._task, completed=self.done, states=", ".join(filter(None, [in_flight, self._states()]))
            )
            self._bar.refresh()
        else:
            elapsed = time.perf_counter() - self._started
            percent = 100 * self.done // self.total
            print(
                f"demo: {self.done:,}/{self.total:,} workflows done ({percent}%) in {elapsed:.1f} s, "
                f"{self.started - self.done:,} in flight, {self.transitions:,} atom transitions: "
                f"{self._states() or 'none finished yet'}",
                flush=True,
            )

    def __call__(self, outcome: Outcome) -> None:
        """A workflow ended."""
        self.done += 1
        self.counts[outcome.state] += 1
        self._tick(self.done == self.total)

    def began(self) -> None:
        """A workflow was loaded (recorded) and is about to start."""
        self.started += 1
        self._tick(False)

    def transition(self, event_type: str, details: Any) -> None:
        """An atom of some workflow changed state (an atom notifier's callback)."""
        if event_type != EVENT_UPDATE_PROGRESS:
            self.transitions += 1
            self._tick(False)

    def _tick(self, last: bool) -> None:
        now = time.perf_counter()
        if last or now - self._last >= self._interval:
            self._last = now
            self.update()

    def close(self) -> None:
        """Stop the live display (the last state stays on screen)."""
        if self._bar is not None:
            self._bar.stop()


def run_demo(
    workflows: int = 10_000,
    seed: int = 7,
    engine: str = "parallel",
    concurrency: int = 1000,
    latency_ms: float = 5.0,
    backend: str | dict[str, Any] = "memory://",
    progress: Progress | None = None,
    hub: str | None = None,
) -> DemoReport:
    """Run the batch with ``run_many``; 10% of boots fail once (retried), 5% for good (reverted).

    Every workflow is recorded in ``backend`` (a URL or conf dict); ``progress`` is called
    with each outcome as its workflow ends. ``hub`` names the hub (``None``: by
    configuration); a green one needs the process patched first.
    """
    rng = random.Random(seed)
    ledger = Ledger()
    latency = latency_ms / 1000.0
    flow = build_server_flow(ledger)
    store_backend = fetch_backend(backend)
    started_at: dict[int, float] = {}
    latencies: list[float] = []
    uuids: list[str] = []
    clock = time.perf_counter

    def engines() -> Iterator[Engine]:
        for request_id in range(workflows):
            roll = rng.random()
            fail_times = 5 if roll < 0.05 else (1 if roll < 0.15 else 0)
            store = {"request_id": request_id, "latency": latency, "fail_times": fail_times}
            # Taken from here as a slot frees up: the workflow's latency starts now.
            started_at[request_id] = clock()
            # Deferred: the new flow's records go out with its claim, in a group-commit round.
            eng = load(
                flow, store=store, engine=engine, backend=store_backend, hub=the_hub, defer_creation=True
            )
            uuids.append(eng.storage.flow_uuid)
            if progress is not None:
                eng.atom_notifier.register(ANY, progress.transition)
                progress.began()
            yield eng

    def on_result(outcome: Outcome) -> None:
        latencies.append(clock() - started_at.pop(outcome.index))
        if progress is not None:
            progress(outcome)

    the_hub = get_hub(hub)
    started = clock()
    try:
        summary = run_many(
            engines(),
            hub=the_hub,
            concurrency=concurrency,
            keep_outcomes=False,
            collect_results=False,
            on_result=on_result,
        )
    finally:
        store_backend.close()
    elapsed = clock() - started
    latencies.sort()
    return DemoReport(
        workflows=workflows,
        outcomes=dict(summary.counts),
        hosts_released=ledger.hosts_released,
        seconds=elapsed,
        hub=the_hub.name,
        concurrency=concurrency,
        latency_ms=latency_ms,
        os_threads=len(ledger.threads),
        process_threads=max(os_threads(), progress.peak_threads if progress is not None else 0),
        peak_rss=_peak_rss_bytes(),
        p50=_percentile(latencies, 0.50),
        p99=_percentile(latencies, 0.99),
        backend=backend if isinstance(backend, str) else str(backend["connection"]),
        flow_uuids=tuple(uuids),
    )


def remove_sqlite_file(path: str) -> None:
    """Remove a SQLite database file and its WAL side files, if present."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass

"""Tasks and flows that record what they did: shared by the run_many suites of every hub.

Primitives come from a hub (``InFlight(hub)``), so one definition serves the
unpatched unit tests (threading hub) and the patched per-hub suites.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from greenflow import LinearFlow, Task, UnorderedFlow
from greenflow.engines import Outcome
from greenflow.hubs import Event, Hub
from greenflow.patterns import Flow

#: The longest a double waits for something that should happen at once.
PATIENCE = 10.0


@contextmanager
def collections_seen() -> Iterator[list[int]]:
    """The generation of each garbage collection that ends inside the block, in order."""
    seen: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            seen.append(info["generation"])

    gc.callbacks.append(count)
    try:
        yield seen
    finally:
        gc.callbacks.remove(count)


class Nap(Task):
    """Sleeps through ``time.sleep`` (patched on a green hub), like a call to a remote service.

    Returns ``value`` (default: its name).
    """

    def __init__(self, name: str, seconds: float = 0.002, value: Any = None, **options: Any) -> None:
        super().__init__(name, **options)
        self.seconds = seconds
        self.value = name if value is None else value

    def execute(self) -> Any:
        time.sleep(self.seconds)
        return self.value


class Add(Task):
    """Returns ``x + y``: requires both, so a flow of it needs them injected."""

    def execute(self, x: int, y: int) -> int:
        time.sleep(0.001)
        return x + y


class Boom(Task):
    """Raises the exception it is given."""

    def __init__(self, name: str, error: Exception) -> None:
        super().__init__(name)
        self.error = error

    def execute(self) -> None:
        raise self.error


class InFlight:
    """Counts engines between their first and last task; keeps the most seen at once.

    ``reached`` is set the first time ``target`` engines are in flight together.
    """

    def __init__(self, hub: Hub, target: int = 0) -> None:
        self.now = 0
        self.most = 0
        self.target = target
        self.reached = hub.Event()
        self._lock = hub.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
            if self.now == self.target:
                self.reached.set()

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


class Enter(Task):
    """First task of a tracked engine: counts it in, waits until ``target`` engines are in, naps."""

    def __init__(
        self, name: str, tracker: InFlight, wait_for_target: bool = True, seconds: float = 0.0
    ) -> None:
        super().__init__(name)
        self.tracker = tracker
        self.wait_for_target = wait_for_target
        self.seconds = seconds

    def execute(self) -> None:
        self.tracker.enter()
        if self.wait_for_target:
            self.tracker.reached.wait(PATIENCE)
        time.sleep(self.seconds)


class Leave(Task):
    """Last task of a tracked engine: naps, then counts it out."""

    def __init__(self, name: str, tracker: InFlight, seconds: float = 0.0) -> None:
        super().__init__(name)
        self.tracker = tracker
        self.seconds = seconds

    def execute(self) -> None:
        time.sleep(self.seconds)
        self.tracker.leave()


class Hold(Task):
    """Records that it started, then waits until ``release`` is set."""

    def __init__(self, name: str, release: Event, started: list[str]) -> None:
        super().__init__(name)
        self.release = release
        self.started = started

    def execute(self) -> None:
        self.started.append(self.name)
        self.release.wait(PATIENCE)


class Record(Task):
    """Appends its name to ``ran``."""

    def __init__(self, name: str, ran: list[str]) -> None:
        super().__init__(name)
        self.ran = ran

    def execute(self) -> None:
        self.ran.append(self.name)


def diamond(name: str, seconds: float = 0.002) -> Flow:
    """``linear(A, unordered(B, C, D), E)`` whose tasks nap ``seconds``."""
    return LinearFlow(name).add(
        Nap("A", seconds),
        UnorderedFlow(f"{name}-middle").add(Nap("B", seconds), Nap("C", seconds), Nap("D", seconds)),
        Nap("E", seconds),
    )


def tracked(name: str, tracker: InFlight, seconds: float = 0.0, wait_for_target: bool = True) -> Flow:
    """A diamond counted in flight by ``tracker``; its first task waits for ``tracker.target`` engines."""
    return LinearFlow(name).add(
        Enter(f"{name}-A", tracker, wait_for_target, seconds),
        UnorderedFlow(f"{name}-middle").add(
            Nap(f"{name}-B", seconds), Nap(f"{name}-C", seconds), Nap(f"{name}-D", seconds)
        ),
        Leave(f"{name}-E", tracker, seconds),
    )


def held(name: str, release: Event, started: list[str], ran: list[str]) -> Flow:
    """A flow whose first task holds until ``release``; its second records that it ran."""
    return LinearFlow(name).add(Hold(f"{name}-a", release, started), Record(f"{name}-b", ran))


def by_index(outcomes: tuple[Outcome, ...]) -> list[Outcome]:
    """Outcomes in input order."""
    return sorted(outcomes, key=lambda outcome: outcome.index)


def os_thread_count() -> int:
    """The process's real OS threads (Linux), which monkey patching cannot hide."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line in /proc/self/status")

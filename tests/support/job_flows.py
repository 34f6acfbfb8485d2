"""Flow factories for jobboard and conductor tests (importable by name in conductor processes).

``SleepTask`` sleeps ``delay`` seconds through the hub and, when the
environment names a journal file (``GREENFLOW_TEST_JOURNAL``), appends one
line per execute so tests can count how often each atom ran.
"""

from __future__ import annotations

import os
import time
from typing import Any

from greenflow.atoms import Task
from greenflow.hubs import get_hub
from greenflow.patterns import LinearFlow


def _journal(line: str) -> None:
    path = os.environ.get("GREENFLOW_TEST_JOURNAL")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class SleepTask(Task):
    """Sleeps ``delay`` seconds and returns its name; journals ``start``/``done`` lines."""

    def __init__(self, name: str, delay: float) -> None:
        super().__init__(name=name, provides=name)
        self.delay = delay

    def execute(self, job_key: str) -> Any:
        _journal(f"start {job_key} {self.name} {os.getpid()}")
        if self.delay:
            get_hub().sleep(self.delay)
        _journal(f"done {job_key} {self.name} {os.getpid()}")
        return self.name


class FailTask(Task):
    """Always raises ``ValueError`` (its flow reverts)."""

    def execute(self, job_key: str) -> Any:
        raise ValueError(f"job {job_key} fails on purpose")


def linear(steps: int = 3, delay: float = 0.0) -> LinearFlow:
    """A linear flow of ``steps`` sleeping tasks; each requires ``job_key``."""
    flow = LinearFlow("sleepers")
    flow.add(*(SleepTask(f"step{i}", delay) for i in range(steps)))
    return flow


def failing() -> LinearFlow:
    """A flow whose one task fails."""
    flow = LinearFlow("failing")
    flow.add(FailTask("boom"))
    return flow


def wall_clock() -> float:
    """Seconds since the epoch (in one place for the tests)."""
    return time.time()

"""Fixtures of the hub contract suite; the process's hub is chosen by tests/hubs/run.py."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator

import pytest

import greenflow.hubs
from greenflow.hubs import Hub


def pytest_configure(config: pytest.Config) -> None:
    if "GREENFLOW_HUB" not in os.environ:
        raise pytest.UsageError(
            "tests/hubs must run in a process set up for one hub:"
            " python tests/hubs/run.py {gevent|eventlet|threading}"
        )
    config.addinivalue_line(
        "markers",
        "picklable: the test's tasks are picklable module-level classes that record nothing"
        " themselves, so it also runs on a process executor",
    )


@pytest.fixture(scope="session")
def hub() -> Hub:
    """The hub of this process (the one run.py patched for, or threading)."""
    return greenflow.hubs.get_hub()


class Ticker:
    """A green thread (or thread) counting ticks: proof that the hub keeps running others."""

    def __init__(self, hub: Hub, interval: float = 0.005) -> None:
        self.count = 0
        self._interval = interval
        self._stop = hub.Event()
        self._handle = hub.spawn(self._run)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.count += 1

    def stop(self) -> None:
        self._stop.set()
        self._handle.join(5)


@pytest.fixture
def ticker(hub: Hub) -> Iterator[Ticker]:
    ticker = Ticker(hub)
    yield ticker
    ticker.stop()


def count_live_greenlets() -> int:
    """Count greenlets that have not finished (0 on the threading hub)."""
    try:
        import greenlet
    except ImportError:
        return 0
    gc.collect()
    return sum(
        1
        for obj in gc.get_objects()
        if isinstance(obj, greenlet.greenlet) and not obj.dead and obj.parent is not None
    )


@pytest.fixture
def live_greenlets(hub: Hub) -> Callable[[], int]:
    """A function counting the greenlets that have not finished.

    The hub's own green threads (gevent's hub, made on first use; eventlet's
    reader of wake-ups from other threads, made with the first wakeup) are
    started first, so that a test run alone does not count them as left behind.
    """
    hub.sleep(0)
    hub.new_wakeup().close()
    return count_live_greenlets

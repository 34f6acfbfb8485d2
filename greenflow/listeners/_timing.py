"""``TimingListener``: how long each atom's execute took, kept in its atom detail."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from greenflow import states
from greenflow.listeners._base import Listener

if TYPE_CHECKING:
    from greenflow.engines import Engine

__all__ = ["TIMING_META", "PrintingTimingListener", "TimingListener"]

_LOG = logging.getLogger("greenflow.listeners")
_ENDS: Final = frozenset({states.SUCCESS, states.FAILURE, states.REVERTED})
#: Key under which the duration is stored in an atom detail's meta.
TIMING_META: Final = "timing"


class TimingListener(Listener):
    """Measures each atom's run (RUNNING until SUCCESS or FAILURE) in seconds.

    Durations are stored in the atom detail's ``meta['timing']`` (persisted with
    it) and in ``timings`` (``{atom name: seconds}``, the latest run of each).
    """

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(engine, flow_listen_for=())
        self._clock = clock
        self._started: dict[str, float] = {}
        self.timings: dict[str, float] = {}

    def _record(self, kind: str, state: str, details: Mapping[str, Any]) -> None:
        name = details[f"{kind}_name"]
        if state == states.RUNNING:
            self._started[name] = self._clock()
            return
        if state not in _ENDS or name not in self._started:
            return
        started = self._started.pop(name)
        duration = self._clock() - started
        self.timings[name] = duration
        storage = self.engine.storage
        detail = storage.flow_detail.find_by_name(name)
        if detail is not None:
            detail.meta[TIMING_META] = {"duration": duration, "outcome": state}
            storage.save_atom(detail)
        self._report(kind, name, state, duration)

    def _report(self, kind: str, name: str, state: str, duration: float) -> None:
        _LOG.debug("%s %r took %.6f s (%s)", kind, name, duration, state)

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._record("task", state, details)

    def _retry_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._record("retry", state, details)


class PrintingTimingListener(TimingListener):
    """A ``TimingListener`` that also prints each duration."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], float] = time.monotonic,
        printer: Callable[[str], Any] = print,
    ) -> None:
        super().__init__(engine, clock)
        self._printer = printer

    def _report(self, kind: str, name: str, state: str, duration: float) -> None:
        self._printer(f"{kind} {name!r} took {duration:.6f} s ({state})")

"""``taskflow.listeners.timing``: durations and event times, kept in the details' ``meta``.

``DurationListener`` stores ``meta['duration']`` (seconds) on each task
detail and on the flow detail; ``PrintingDurationListener`` also prints;
``EventTimeListener`` stores ``meta['<STATE>-timestamp']``. ``TimingListener``
and ``PrintingTimingListener`` are TaskFlow's older names.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from greenflow import states
from taskflow.exceptions import StorageFailure
from taskflow.listeners.base import DEFAULT_LISTEN_FOR, FINISH_STATES, Listener

__all__ = [
    "DurationListener",
    "EventTimeListener",
    "PrintingDurationListener",
    "PrintingTimingListener",
    "TimingListener",
]

LOG = logging.getLogger(__name__)

STARTING_STATES = frozenset((states.RUNNING, states.REVERTING))
FINISHED_STATES = frozenset((*FINISH_STATES, states.REVERTED))
WATCH_STATES = frozenset((*FINISHED_STATES, *STARTING_STATES, states.PENDING))

_TASK = "task"
_FLOW = "flow"


def _storage(engine: Any) -> Any:
    """The engine's storage with TaskFlow's metadata methods."""
    storage = engine.storage
    if not hasattr(storage, "update_atom_metadata"):  # a bare greenflow engine
        from taskflow.storage import Storage

        storage = Storage._of_engine(engine, dict)
    return storage


class DurationListener(Listener):
    """Records how long each task and the flow took, in ``meta['duration']``."""

    def __init__(self, engine: Any) -> None:
        super().__init__(
            engine, task_listen_for=WATCH_STATES, flow_listen_for=WATCH_STATES, retry_listen_for=()
        )
        self._timers: dict[str, dict[str, float]] = {_TASK: {}, _FLOW: {}}

    def deregister(self) -> None:
        super().deregister()
        for kind, timers in self._timers.items():
            if timers:
                LOG.warning("%s %s(s) did not enter %s states", len(timers), kind, sorted(FINISHED_STATES))
            timers.clear()

    def _record_ending(self, elapsed: float, kind: str, name: str, state: str) -> None:
        update = {"duration": elapsed}
        try:
            storage = _storage(self._engine)
            if kind == _FLOW:
                storage.update_flow_metadata(update)
            else:
                storage.update_atom_metadata(name, update)
        except StorageFailure:
            LOG.warning("could not store duration %s of %s %r", update, kind, name, exc_info=True)

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._receiver(_TASK, details["task_name"], state)

    def _flow_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._receiver(_FLOW, details["flow_name"], state)

    def _receiver(self, kind: str, name: str, state: str) -> None:
        timers = self._timers[kind]
        if state == states.PENDING:
            timers.pop(name, None)
        elif state in STARTING_STATES:
            timers[name] = time.monotonic()
        elif state in FINISHED_STATES:
            started = timers.pop(name, None)
            if started is not None:
                self._record_ending(time.monotonic() - started, kind, name, state)


class PrintingDurationListener(DurationListener):
    """A ``DurationListener`` that also prints when each item starts and how long it took."""

    def __init__(self, engine: Any, printer: Callable[[str], Any] | None = None) -> None:
        super().__init__(engine)
        self._printer = printer or print

    def _record_ending(self, elapsed: float, kind: str, name: str, state: str) -> None:
        super()._record_ending(elapsed, kind, name, state)
        self._printer(f"It took {kind} '{name}' {elapsed:0.2f} seconds to finish.")

    def _receiver(self, kind: str, name: str, state: str) -> None:
        super()._receiver(kind, name, state)
        if state in STARTING_STATES:
            self._printer(f"'{name}' {kind} started.")


class EventTimeListener(Listener):
    """Stores when each state was entered, as ``meta['<STATE>-timestamp']`` (seconds since the epoch)."""

    def __init__(
        self,
        engine: Any,
        task_listen_for: Any = DEFAULT_LISTEN_FOR,
        flow_listen_for: Any = DEFAULT_LISTEN_FOR,
        retry_listen_for: Any = DEFAULT_LISTEN_FOR,
    ) -> None:
        super().__init__(engine, task_listen_for, flow_listen_for, retry_listen_for)

    def _record(self, name: str | None, state: str) -> None:
        update = {f"{state}-timestamp": time.time()}
        try:
            storage = _storage(self._engine)
            if name is None:
                storage.update_flow_metadata(update)
            else:
                storage.update_atom_metadata(name, update)
        except StorageFailure:
            LOG.warning("could not store %s", update, exc_info=True)

    def _flow_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._record(None, state)

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._record(details["task_name"], state)

    def _retry_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._record(details["retry_name"], state)


TimingListener = DurationListener
PrintingTimingListener = PrintingDurationListener

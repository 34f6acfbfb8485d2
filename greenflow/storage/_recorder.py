"""The recorder seam: how the sans-IO runtime records a run without touching persistence.

``greenflow.engines.Runtime`` decides; a ``Recorder`` remembers. The runtime
never reads or writes an ``AtomDetail`` or a backend: it reads what was
recorded once, when it starts (``recorded()``), and from then on reports each
transition of an atom, by node index, through one ``record_*`` call.
``greenflow.storage.Storage`` implements the protocol; TaskFlow's stored
layout (a retry's history as ``[(result, {atom name: Failure}), ...]``, a
reverted retry forgetting it, a reset keeping it) lives there and only there.

The contract, for a recorder and for whoever drives a runtime:

* ``record_*`` calls happen in the order of the run. A recorder applies
  them in that order and may write them later; it must not assume anything
  about when the runtime will call next.
* **A transition is durable only when the recorder says so.** After feeding
  an outcome to the runtime (or starting it), the driver calls ``commit()``
  *before* starting the actions the runtime returned: those actions depend
  on the transitions just recorded. ``commit()`` returns ``None`` when every
  transition recorded so far is already durable (the default: storage writes
  through as it records, and says so with ``defers_commits = False``, so the
  engine does not even ask), or a ``PendingCommit`` that calls its callbacks once
  they are, with ``None`` or the exception that made the write fail. The
  driver does not block on it: the engine yields ``WAITING`` until it rings,
  so a group-committing recorder can collect the transitions of many engines
  and write them in one round, and no successor starts before its
  predecessor's result is on disk. The engine also commits before it writes
  the flow's final state, so a finished run has every transition durable.
* ``recorded()`` is read once, when a runtime starts, and describes the
  atoms as the last run left them (aligned with the compiled nodes, ``None``
  for joins). The runtime keeps its own copy of what it needs from then on.
  ``departed_failures()``, read then too, is what the records of atoms the
  flow no longer has say failed before a revert covered them.
* ``lookup_injected`` and ``unstorable`` are pure reads: the runtime asks
  them for arguments and to check, once per result when ``checks_results``
  is true, that the recorder can store it (an atom returning something
  unstorable fails, instead of the write failing later).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from greenflow.failure import Failure

__all__ = ["Completion", "PendingCommit", "RecordedAtom", "Recorder"]


class RecordedAtom(Protocol):
    """What the runtime reads of one atom's record when it starts (an ``AtomDetail`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def intention(self) -> str: ...
    @property
    def results(self) -> Any: ...  # a task's result; a retry's history ``[(result, {name: Failure})]``
    @property
    def failure(self) -> Failure | None: ...


class PendingCommit(Protocol):
    """Transitions recorded but not yet durable (see the module docstring)."""

    def add_done_callback(self, callback: Callable[[BaseException | None], None]) -> None:
        """Call ``callback`` once (from any thread) when durable, with ``None`` or the write's error.

        Called at once when the commit is already done.
        """


class Recorder(Protocol):
    """What a runtime records through; ``greenflow.storage.Storage`` implements it."""

    #: Whether ``unstorable`` must be asked about every result before it is recorded.
    checks_results: bool
    #: ``False``: every transition is durable when its ``record_*`` call returns, so a
    #: driver may skip ``commit()`` (read once per run: it must not change during one).
    defers_commits: bool

    @property
    def flow_name(self) -> str:
        """The name of the flow recorded (for error messages)."""

    def recorded(self) -> Sequence[RecordedAtom | None]:
        """The atoms' records as the last run left them, aligned with the compiled nodes."""

    def departed_failures(self) -> Sequence[tuple[str, Failure]]:
        """``(atom name, execute failure)`` of recorded atoms the flow no longer has, reverted for it.

        Atoms whose record says a revert covered them (intention REVERT): a
        resumed run that continues that revert raises their failures too.
        """

    def record_state(self, i: int, state: str, intention: str | None = None) -> None:
        """Atom ``i`` is now in ``state`` (and, when given, has ``intention``)."""

    def record_reset(self, i: int, state: str) -> None:
        """Atom ``i`` forgets its result and failures (a retry keeps its history), is in ``state``."""

    def record_intention(self, i: int, intention: str) -> None:
        """Atom ``i`` is meant to ``intention`` (REVERT, RETRY, EXECUTE): what a resumed run continues."""

    def record_result(self, i: int, value: Any) -> None:
        """Atom ``i``'s execute returned ``value``: SUCCESS (a retry adds an attempt to its history)."""

    def record_failure(self, i: int, failure: Failure) -> None:
        """Atom ``i``'s execute failed (or its arguments could not be found): FAILURE."""

    def record_reverted(self, i: int, value: Any) -> None:
        """Atom ``i``'s revert returned ``value``: REVERTED (a retry forgets its history)."""

    def record_revert_failure(self, i: int, failure: Failure) -> None:
        """Atom ``i``'s revert raised: REVERT_FAILURE."""

    def record_retry_failure(self, r: int, atom_name: str, failure: Failure) -> None:
        """Retry ``r``'s current attempt saw ``atom_name`` fail with ``failure``."""

    def commit(self) -> PendingCommit | None:
        """``None`` when everything recorded is durable, else what rings when it is."""

    def lookup_injected(self, symbol: str) -> tuple[bool, Any]:
        """``(found, value)`` of an injected value."""

    def unstorable(self, i: int, value: Any) -> Failure | None:
        """The failure atom ``i`` ends in because ``value`` cannot be stored, or ``None``."""


class Completion:
    """A ``PendingCommit`` a recorder completes with ``set_done()`` (from any thread)."""

    __slots__ = ("_callbacks", "_done", "_error", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()  # held for a few bytecodes, never across a switch
        self._callbacks: list[Callable[[BaseException | None], None]] = []
        self._done = False
        self._error: BaseException | None = None

    def add_done_callback(self, callback: Callable[[BaseException | None], None]) -> None:
        """See ``PendingCommit``."""
        with self._lock:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self._error)

    def set_done(self, error: BaseException | None = None) -> None:
        """The transitions are durable (``error`` is ``None``) or their write failed."""
        with self._lock:
            if self._done:
                return
            self._done, self._error = True, error
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(error)

    @property
    def done(self) -> bool:
        """Whether ``set_done()`` was called."""
        return self._done

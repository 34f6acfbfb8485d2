"""Group commit: one writer per backend and hub writes the transitions of every engine in rounds.

An engine records transitions into its storage; when the runtime asks for a
commit, storage hands its pending rows to the backend's writer as one
``WriteGroup`` and gets a ``WriteTicket`` back. The writer (a green thread
under gevent or eventlet, an OS thread under threading: whatever the hub's
``spawn`` starts) takes the groups submitted since its last round (at most
``MAX_ROUND_GROUPS``) and writes them with one ``backend.write_batch(groups)``
call: one transaction, batched statements. While it writes, new groups queue up for the
next round, so the number of commits follows the database's speed, not the
number of engines: 1,000 engines pay for tens of commits, not tens of
thousands. A round is bounded because making its statements is work in the
hub's thread that no driver call interrupts: some 35 µs per group, so a round
of 900 engines kept the hub for 33 ms; 200 keep it for under 10. Under a green
hub a round's engines are woken ``WAKE_SLICE`` at a time, the writer sleeping on
a timer in between, so what they run next comes in slices too.

Guarantees:

* A ticket rings only after its group is committed (or its write failed):
  the engine starts nothing that depends on those transitions before then.
* Each group is atomic: a backend writes all of a group or none of it. When a
  round's transaction fails, the backend retries each group on its own, so a
  row one engine cannot store fails that engine alone, and a database that is
  down fails every engine of the round, each with the database's error.
* A group may carry a claim of its flow detail; a refused claim fails its
  group (and writes none of its rows), never the round. A granted claim
  returns the flow detail as stored, read in the same transaction.

Backends that block the OS thread (SQLite, a directory's fsync) are written
through the hub's ``offload`` (a real thread), so the hub never waits on them;
PostgreSQL's and MariaDB's drivers yield to the hub while they wait.
"""

from __future__ import annotations

import collections
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, cast

from greenflow.persistence._base import Backend, GroupCommitBackend

__all__ = ["MAX_ROUND_GROUPS", "WAKE_SLICE", "GroupWriter", "WriteGroup", "WriteTicket", "writer_for"]

#: The most groups (engines' commits) one round writes; the rest wait for the next round.
MAX_ROUND_GROUPS: Final = 200
#: Under a green hub, how many engines a round wakes before the writer sleeps ``_WAKE_PAUSE_S``
#: (on a timer, so the hub's other timers and I/O run first): the engines a round wakes all
#: become ready at once, and each runs its next steps (some 30 µs) before the hub gets back.
WAKE_SLICE: Final = 50
_WAKE_PAUSE_S: Final = 0.0002


@dataclass(slots=True)
class WriteGroup:
    """What one engine commits at once: rows to write, optionally a claim to take or drop.

    ``flow_uuid`` names the engine's flow detail (in error messages).
    ``atoms`` and ``flows`` map a detail's uuid to the backend's row for it
    (made by ``backend.atom_row``/``flow_row`` when it was recorded, so the
    writer never reads objects an engine is changing). ``claim`` is
    ``(flow_uuid, owner)``: the group's rows are written only if the claim is
    granted. ``release`` is ``(flow_uuid, owner)``, dropped after the rows.
    """

    flow_uuid: str = ""
    atoms: dict[str, Any] = field(default_factory=dict)
    flows: dict[str, Any] = field(default_factory=dict)
    claim: tuple[str, str] | None = None
    #: A new logbook's rows (``backend.book_rows``), inserted before anything else.
    create: Any = None
    release: tuple[str, str] | None = None
    #: Set by the backend for a granted claim: the flow detail as stored.
    claimed: Any = None

    def __bool__(self) -> bool:
        return bool(self.atoms or self.flows or self.claim or self.release or self.create)


class WriteTicket:
    """Rings when its group is durable (``None``) or failed (the error); a ``PendingCommit``."""

    __slots__ = ("_callbacks", "_done", "_error", "_lock", "group")

    def __init__(self, group: WriteGroup) -> None:
        self.group = group
        self._lock = threading.Lock()  # held for a few bytecodes, never across a switch
        self._callbacks: list[Callable[[BaseException | None], None]] = []
        self._done = False
        self._error: BaseException | None = None

    def add_done_callback(self, callback: Callable[[BaseException | None], None]) -> None:
        """Call ``callback(error)`` once the group is written (at once if it already is)."""
        with self._lock:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self._error)

    def set_done(self, error: BaseException | None) -> None:
        with self._lock:
            if self._done:
                return
            self._done, self._error = True, error
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(error)

    def wait(self, hub: Any) -> None:
        """Wait (only the calling green thread or thread) until written; raise the write's error."""
        if not self._done:
            wakeup = hub.new_wakeup()
            self.add_done_callback(lambda _error: wakeup.notify())
            while not self._done:
                wakeup.wait(None)
            wakeup.close()
        if self._error is not None:
            raise self._error


class GroupWriter:
    """The writer of one backend on one hub (see the module docstring)."""

    def __init__(self, backend: GroupCommitBackend, hub: Any) -> None:
        self.backend = backend
        self.hub = hub
        self._lock = threading.Lock()  # guards the queue only; never held across a switch
        self._queue: collections.deque[WriteTicket] = collections.deque()
        self._bell = hub.new_wakeup()
        self._started = False
        # Blocking drivers (SQLite, fsync) go to a real thread under a green hub.
        self._offload = bool(getattr(backend, "blocks_hub", False)) and hub.is_green
        #: Rounds written and groups in them (``statistics()``).
        self.rounds = 0
        self.groups = 0
        self.largest_round = 0

    def submit(self, group: WriteGroup) -> WriteTicket:
        """Queue ``group`` for the next round; the ticket rings when it is written."""
        ticket = WriteTicket(group)
        with self._lock:
            self._queue.append(ticket)
            if not self._started:
                self._started = True
                self.hub.spawn(self._run)
        self._bell.notify()
        return ticket

    def _run(self) -> None:
        while True:
            self._bell.wait(None)
            while True:
                with self._lock:  # the oldest first; the rest are the next round's
                    queue = self._queue
                    tickets = [queue.popleft() for _ in range(min(len(queue), MAX_ROUND_GROUPS))]
                if not tickets:
                    break
                self._write(tickets)

    def _write(self, tickets: list[WriteTicket]) -> None:
        groups = [t.group for t in tickets]
        try:
            if self._offload:
                errors = self.hub.offload(self.backend.write_batch, groups)
            else:
                errors = self.backend.write_batch(groups)
        except BaseException as exc:  # the backend broke outside its own handling: fail the round
            errors = [exc] * len(groups)
        self.rounds += 1
        self.groups += len(groups)
        self.largest_round = max(self.largest_round, len(groups))
        green = self.hub.is_green
        for k, (ticket, error) in enumerate(zip(tickets, errors, strict=True)):
            if green and k and not k % WAKE_SLICE:
                # Each engine woken runs its next steps at once: let timers and I/O in between.
                self.hub.sleep(_WAKE_PAUSE_S)
            ticket.set_done(error)

    def statistics(self) -> dict[str, int]:
        """Rounds written, groups written and the largest round so far."""
        return {"rounds": self.rounds, "groups": self.groups, "largest_round": self.largest_round}


_LOCK = threading.Lock()
_WRITERS: weakref.WeakKeyDictionary[Any, dict[str, GroupWriter]] = weakref.WeakKeyDictionary()


def writer_for(backend: Backend, hub: Any) -> GroupWriter | None:
    """The writer of ``backend`` on ``hub`` (made on first use); ``None`` if it cannot group-commit."""
    if not callable(getattr(backend, "write_batch", None)):
        return None
    with _LOCK:
        try:
            per_hub = _WRITERS.setdefault(backend, {})
        except TypeError:  # not weakly referenceable: no writer to keep for it
            return None
        writer = per_hub.get(hub.name)
        if writer is None:
            writer = per_hub[hub.name] = GroupWriter(cast(GroupCommitBackend, backend), hub)
    return writer

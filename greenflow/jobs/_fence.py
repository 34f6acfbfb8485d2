"""Fenced writes: a job's engine records a transition only while its claim still holds.

A ``Lease`` is a claim a conductor keeps alive (``heartbeat()``); it turns
*lost* the moment the board says the claim's token no longer holds the job,
or when the board cannot be reached for longer than the claim could have
lasted. ``FencedBackend`` wraps the persistence backend an engine records
into and fences every write (atom and flow transitions, logbook saves, the
flow-detail claim) on the lease, refusing it with ``ClaimLostError``.

Where the store can fence its own writes (SQL databases: a
``greenflow_fences`` row per job; the directory backend: a fence file under
its lock; ZooKeeper: a fence znode every write's transaction checks), the
fence is atomic: each write raises the job's fence to the
lease's token and checks it in the same transaction as its rows. A conductor
passes the fence (``FencedBackend.enter``) before it reads the job's flow
detail, so once a later claim's holder has started, nothing an earlier holder
writes lands, however long that one was frozen: every earlier write either
landed before the new holder read the records, or is refused. A lost lease
(found by the heartbeat) suspends the engine.

Elsewhere (a backend of one's own without ``fenced()``) each write first asks
the board whether the lease's token is still the job's current one. The check and the write then go
to different servers, so a writer frozen between the two for longer than the
claim's remaining time could still land that one write; every later write is
refused. The job's consume/abandon/trash is fenced atomically on the board in
every case.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from greenflow.exceptions import ClaimLostError, JobError, StaleFenceError, StorageError
from greenflow.jobs._base import Claim, Job, JobBoard
from greenflow.persistence import Backend

__all__ = ["FencedBackend", "FencedConnection", "Lease"]

_LOG = logging.getLogger(__name__)


class Lease:
    """A claim on a job held while its engine runs: checked before writes, extended by heartbeats."""

    __slots__ = ("_callbacks", "board", "claim", "confirmed", "job", "lost", "reason")

    def __init__(self, board: JobBoard, job: Job, claim: Claim) -> None:
        self.board = board
        self.job = job
        self.claim = claim
        #: ``time.monotonic()`` taken just before the board last confirmed the claim.
        self.confirmed = time.monotonic()
        self.lost = False
        self.reason = ""
        self._callbacks: list[Callable[[], Any]] = []

    def on_lost(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` once when the lease is found lost (the conductor suspends the engine)."""
        if self.lost:
            callback()
        else:
            self._callbacks.append(callback)

    def mark_lost(self, reason: str) -> None:
        """Record that the claim no longer holds; run the ``on_lost`` callbacks once."""
        if self.lost:
            return
        self.lost = True
        self.reason = reason
        _LOG.debug("job %r (%s): claim lost: %s", self.job.name, self.job.uuid, reason)
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # one failing callback must not keep the others from running
                _LOG.exception("job %r: a claim-lost callback failed", self.job.name)

    def _within_expiry(self) -> bool:
        expiry = self.claim.expiry
        return expiry is None or time.monotonic() < self.confirmed + expiry

    def confirmed_now(self, started: float) -> None:
        """The board confirmed the claim in a call begun at ``started`` (monotonic)."""
        self.confirmed = max(self.confirmed, started)

    def check(self) -> None:
        """Raise ``ClaimLostError`` unless the board holds this claim's token for the job now."""
        if not self.lost:
            started = time.monotonic()
            try:
                held = self.board.verify(self.claim)
            except JobError as exc:
                if self._within_expiry():
                    return  # unreachable, but nobody else can have claimed it yet
                self.mark_lost(f"the board was unreachable past the claim's expiry ({exc})")
            else:
                if held:
                    self.confirmed_now(started)
                    return
                self.mark_lost(
                    f"the board no longer records token {self.claim.token} for {self.claim.owner!r}"
                )
        raise ClaimLostError(
            f"job {self.job.name!r} ({self.job.uuid}): refusing to record for a lost claim "
            f"(owner {self.claim.owner!r}, token {self.claim.token}): {self.reason}",
            job=self.job.uuid,
            token=self.claim.token,
        )


class FencedConnection:
    """A persistence connection whose writes are fenced on the lease (reads pass straight through).

    Where the backend's connection can fence its own writes (``fenced(name,
    token)``: SQL databases, the directory and ZooKeeper backends), every write passes the
    job's fence with the lease's token in the same transaction as its rows,
    and is refused once a later holder's token passed it (``atomic`` is
    True). Elsewhere each write first asks the board whether the lease still
    holds.
    """

    def __init__(self, conn: Any, lease: Lease) -> None:
        make_fenced = getattr(conn, "fenced", None)
        #: True when the store itself refuses a stale writer, in the write's own transaction.
        self.atomic = callable(make_fenced)
        self._conn = make_fenced(lease.job.uuid, lease.claim.token) if callable(make_fenced) else conn
        self._lease = lease

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def _write(self, method: Callable[..., Any], *args: Any) -> Any:
        lease = self._lease
        if not self.atomic:
            lease.check()
            return method(*args)
        if lease.lost:
            lease.check()  # raises ClaimLostError, naming why
        try:
            return method(*args)
        except StaleFenceError as exc:
            lease.mark_lost(f"a later claim (token {exc.current}) passed the job's fence")
            raise ClaimLostError(
                f"job {lease.job.name!r} ({lease.job.uuid}): write refused by the store: {exc}",
                job=lease.job.uuid,
                token=lease.claim.token,
            ) from exc

    def enter(self) -> None:
        """Pass the job's fence now: no write of an earlier holder of the job lands after this returns."""
        if self.atomic:
            self._write(self._conn.pass_fence)
        else:
            self._lease.check()

    def update_atom_details(self, atom_detail: Any) -> Any:
        """Store the atom detail, fenced."""
        return self._write(self._conn.update_atom_details, atom_detail)

    def update_flow_details(self, flow_detail: Any) -> Any:
        """Store the flow detail, fenced."""
        return self._write(self._conn.update_flow_details, flow_detail)

    def save_logbook(self, book: Any) -> Any:
        """Store the logbook, fenced."""
        return self._write(self._conn.save_logbook, book)

    def claim_flow(self, flow_uuid: str, owner: str) -> None:
        """Claim the flow detail for this job's engine, taking it over from an earlier claimant.

        The job's claim is the authority on who runs the flow: an engine of a
        conductor that died (on any host) left its flow claim behind, and the
        holder of the job's current claim may break it.
        """
        self._write(self._claim_flow, flow_uuid, owner)

    def _claim_flow(self, flow_uuid: str, owner: str) -> None:
        try:
            self._conn.claim_flow(flow_uuid, owner)
        except StaleFenceError:
            raise
        except StorageError:
            get_claim = getattr(self._conn, "get_claim", None)
            holder = get_claim(flow_uuid) if get_claim is not None else None
            if holder is None or holder == owner:
                raise
            self._conn.release_flow(flow_uuid, holder)
            self._conn.claim_flow(flow_uuid, owner)

    def validate(self) -> None:
        """Nothing: the conductor validated the backend this wraps when it started."""


class FencedBackend:
    """The persistence backend a job's engine records into, fenced on the job's lease."""

    def __init__(self, backend: Backend, lease: Lease) -> None:
        self._backend = backend
        self._lease = lease
        self.writes_through: bool = bool(getattr(backend, "writes_through", False))
        self.conf: dict[str, Any] = getattr(backend, "conf", {})

    @property
    def wrapped(self) -> Any:
        """The backend being fenced."""
        return self._backend

    def get_connection(self) -> FencedConnection:
        """A connection whose writes are fenced on the lease."""
        return FencedConnection(self._backend.get_connection(), self._lease)

    def enter(self) -> None:
        """Pass the job's fence before the job's records are read (``FencedConnection.enter``)."""
        self.get_connection().enter()

    def close(self) -> None:
        """Nothing: the wrapped backend is shared and closed by its owner."""

    def __repr__(self) -> str:
        return f"FencedBackend({self._backend!r}, job={self._lease.job.uuid})"

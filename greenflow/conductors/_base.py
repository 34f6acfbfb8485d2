"""``Conductor``: claims jobs from a board, runs each in an engine, then consumes, abandons or trashes it.

One loop serves every kind; a kind says how many jobs run at once
(``capacity``) and where each runs (``_submit``): inline (blocking), on a
thread pool (nonblocking) or on green threads of one hub (green).

What happens to a job:

- it is claimed with ``claim_expiry``; a heartbeat extends every claim this
  conductor holds every ``claim_expiry / 3`` seconds, so a claim lapses
  ``claim_expiry`` seconds after the conductor stops beating (killed, frozen);
- its engine records through a ``FencedBackend``: once the claim is lost
  (taken over, lapsed) the engine is suspended and nothing more is recorded;
- the run ends: SUCCESS, or a flow that reverted or failed because an atom
  failed, is *consumed*; a storage, executor or board failure *abandons* it
  for another attempt, until it has failed ``max_abandons`` times, when it
  is *trashed*; a job that cannot even be dispatched (no flow detail, no
  importable factory, malformed details) is *trashed* with the reason (a
  storage or board failure while loading it is a failed attempt); a
  suspended run (the conductor is stopping) is abandoned and not counted.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import socket
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, ClassVar

from greenflow import states
from greenflow.engines import Engine, load_from_detail
from greenflow.exceptions import (
    ClaimLostError,
    InvalidOptionError,
    JobError,
    JobNotFoundError,
    StorageError,
    UnclaimableJobError,
)
from greenflow.executors import ExecutorError
from greenflow.hubs import resolve_hub
from greenflow.jobs import FencedBackend, Job, JobBoard, Lease
from greenflow.notifier import Notifier
from greenflow.persistence import Backend, FlowDetail

__all__ = ["Conductor", "ConductorEntity"]

_LOG = logging.getLogger("greenflow.conductors")


@dataclass(frozen=True)
class ConductorEntity:
    """Who a conductor is: kind, ``name@host:pid`` and metadata (TaskFlow's entity)."""

    kind: str
    name: str
    metadata: dict[str, Any] = field(default_factory=dict)


class Conductor:
    """Claims, runs and finishes jobs of ``jobboard`` until stopped (see the module docstring).

    ``persistence`` is where job logbooks live and engines record; ``engine``
    and ``engine_options`` are passed to ``load_from_detail`` for each job.
    ``gc_threshold`` raises the collector's first threshold while ``run()``
    runs (worth it with thousands of jobs at once, as for ``run_many``);
    ``None`` takes the kind's ``GC_THRESHOLD`` (100,000 for the green
    conductor, none for the others), ``0`` leaves the collector as it is.
    Subclasses may override ``_listeners_from_job(job, engine)`` (listeners
    to attach to each engine) and ``_on_job_done(job, future)``.
    """

    ENTITY_KIND: ClassVar[str] = "conductor"

    #: Events ``notifier`` emits, each with ``{'job', 'engine', 'conductor'}`` (stages) or
    #: ``{'job', 'conductor', 'persistence'}`` (how the job ended).
    EVENTS_EMITTED: ClassVar[tuple[str, ...]] = (
        "compilation_start",
        "compilation_end",
        "preparation_start",
        "preparation_end",
        "validation_start",
        "validation_end",
        "running_start",
        "running_end",
        "job_consumed",
        "job_abandoned",
        "job_trashed",
        "job_claim_lost",
    )

    #: Failures that leave a job for another attempt instead of consuming it.
    NO_CONSUME_EXCEPTIONS: ClassVar[tuple[type[BaseException], ...]] = (StorageError, ExecutorError, JobError)

    WAIT_TIMEOUT: ClassVar[float] = 0.5
    CLAIM_EXPIRY: ClassVar[float] = 30.0
    MAX_ABANDONS: ClassVar[int] = 3
    #: Seconds a job waits before its next attempt after its first failed one (doubling, capped).
    RETRY_BACKOFF: ClassVar[float] = 1.0
    RETRY_BACKOFF_MAX: ClassVar[float] = 30.0
    #: The most jobs claimed in one call to the board (other conductors get their turn between calls).
    CLAIM_BATCH: ClassVar[int] = 200
    #: The collector's first threshold while ``run()`` runs, unless given (None: left as it is).
    GC_THRESHOLD: ClassVar[int | None] = None

    def __init__(
        self,
        name: str,
        jobboard: JobBoard,
        persistence: Any = None,
        engine: str | None = None,
        engine_options: Mapping[str, Any] | None = None,
        *,
        wait_timeout: float | None = None,
        log: logging.Logger | None = None,
        claim_expiry: float | None = None,
        max_abandons: int | None = None,
        hub: Any = None,
        gc_threshold: int | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidOptionError(f"a conductor needs a non-empty string name, got {name!r}")
        self._name = name
        self._jobboard = jobboard
        self._persistence = persistence
        self._engine = engine
        self._engine_options = dict(engine_options or {})
        self._wait_timeout = self.WAIT_TIMEOUT if wait_timeout is None else float(wait_timeout)
        self._log = log or _LOG
        self._claim_expiry = self.CLAIM_EXPIRY if claim_expiry is None else float(claim_expiry)
        if self._claim_expiry <= 0:
            raise InvalidOptionError(
                f"claim_expiry must be a positive number of seconds, got {claim_expiry!r}"
            )
        self._max_abandons = self.MAX_ABANDONS if max_abandons is None else int(max_abandons)
        if gc_threshold is not None and (
            not isinstance(gc_threshold, int) or isinstance(gc_threshold, bool) or gc_threshold < 0
        ):
            raise InvalidOptionError(
                f"gc_threshold must be an integer >= 1 (0: leave the collector as it is), "
                f"got {gc_threshold!r}"
            )
        if gc_threshold is None:
            gc_threshold = self.GC_THRESHOLD
        self._gc_threshold = gc_threshold or None
        self._hub = resolve_hub(hub)
        self._notifier = Notifier()
        hub_obj = self._hub
        self._lock = hub_obj.Lock()
        self._stopping = hub_obj.Event()
        self._dead = hub_obj.Event()
        self._dead.set()
        self._wake = hub_obj.Event()
        self._leases: dict[str, Lease] = {}
        self._engines: dict[str, Engine] = {}
        self._failures: dict[str, str] = {}
        self._dispatched: set[Future[Any]] = set()
        self._entity: ConductorEntity | None = None
        #: Counters: jobs claimed, consumed, abandoned, trashed, lost; most at once.
        self.counts: dict[str, int] = dict.fromkeys(
            ("claimed", "consumed", "abandoned", "trashed", "lost", "peak"), 0
        )

    # -- what a kind decides ------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """How many jobs this conductor runs at once."""
        raise NotImplementedError

    def _submit(self, job: Job) -> Future[Any]:
        """Start ``_dispatch_job(job)`` somewhere; its future's result says whether to consume."""
        raise NotImplementedError

    def _shutdown_executor(self) -> None:
        """Release what ``_submit`` used (after every dispatched job ended)."""

    # -- public -------------------------------------------------------------------------------

    @property
    def notifier(self) -> Notifier:
        """The conductor's events (``EVENTS_EMITTED``)."""
        return self._notifier

    @property
    def conductor(self) -> ConductorEntity:
        """This conductor as an entity: ``name@host:pid``."""
        if self._entity is None:
            host = socket.gethostname()
            pid = os.getpid()
            self._entity = ConductorEntity(
                self.ENTITY_KIND, f"{self._name}@{host}:{pid}", {"hostname": host, "pid": pid}
            )
        return self._entity

    @property
    def dispatching(self) -> bool:
        """Whether ``run()`` is still claiming and running jobs."""
        return not self._dead.is_set()

    def connect(self) -> None:
        """Connect the jobboard (nothing if it is already)."""
        if not self._jobboard.connected:
            self._jobboard.connect()

    def close(self) -> None:
        """Close the jobboard."""
        self._jobboard.close()

    def stop(self) -> None:
        """Stop claiming; running engines are suspended at their next safe point and their jobs abandoned.

        Returns at once; ``wait()`` for the conductor to finish.
        """
        self._stopping.set()
        self._wake.set()
        # No lock: stop() may run in a signal handler while this thread holds it.
        for engine in list(self._engines.values()):
            engine.suspend()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until ``run()`` returned; False if ``timeout`` ran out first."""
        return bool(self._dead.wait(timeout))

    def run(self, max_dispatches: int | None = None) -> None:
        """Claim and run jobs until ``stop()`` (or ``max_dispatches`` jobs were dispatched).

        Returns once every job it dispatched has been finished.
        """
        self._dead.clear()
        self._stopping.clear()
        saved_gc = gc.get_threshold()
        if self._gc_threshold is not None:
            # Thousands of live engines make every full collection walk them all; a higher
            # first threshold makes collections rarer (as run_many's gc_threshold does).
            gc.set_threshold(self._gc_threshold, *saved_gc[1:])
        try:
            self.connect()
            if self._persistence is not None:
                validate = getattr(self._persistence.get_connection(), "validate", None)
                if validate is not None:
                    validate()
            self._jobboard.register_entity(self.conductor)
            beat = self._hub.spawn(self._heartbeat)
            try:
                self._run_until_stopped(max_dispatches)
            finally:
                self._drain()
                self._stopping.set()
                self._wake.set()
                beat.join(self._claim_expiry)
                self._shutdown_executor()
        finally:
            if self._gc_threshold is not None:
                gc.set_threshold(*saved_gc)
            self._dead.set()

    # -- the loop -----------------------------------------------------------------------------

    def _run_until_stopped(self, max_dispatches: int | None) -> None:
        total = 0
        board = self._jobboard
        stopping = self._stopping
        while not stopping.is_set():
            free = self.capacity - len(self._dispatched)
            if free <= 0:
                self._pause()
                continue
            dispatched = False
            try:
                batch = free if max_dispatches is None else min(free, max(0, max_dispatches - total))
                for job, claim in board.claim_next(
                    self._name, min(batch, self.CLAIM_BATCH), self._claim_expiry
                ):
                    self._start(job, Lease(board, job, claim))
                    dispatched = True
                    total += 1
                if max_dispatches is not None and 0 < max_dispatches <= total:
                    self._log.info("conductor %s: dispatched %d jobs, the limit", self._name, total)
                    return
            except JobError as exc:
                # The board is unreachable (a restart, a failover): back off and try again.
                self._log.warning("conductor %s: jobboard error, retrying: %s", self._name, exc)
            if not dispatched:
                self._pause()

    def _pause(self) -> None:
        self._wake.wait(self._wait_timeout)
        self._wake.clear()

    def _start(self, job: Job, lease: Lease) -> None:
        self.counts["claimed"] += 1
        self._log.info(
            "conductor %s: claimed job %r (%s) with token %d",
            self._name,
            job.name,
            job.uuid,
            lease.claim.token,
        )
        with self._lock:
            self._leases[job.uuid] = lease
        try:
            future = self._submit(job)
        except Exception as exc:  # the executor refused it: give the job back
            self._log.warning("conductor %s: could not start job %r: %s", self._name, job.name, exc)
            failed: Future[Any] = Future()
            failed.set_result(False)
            self._on_job_done(job, failed)
            return
        with self._lock:
            self._dispatched.add(future)
            running = len(self._dispatched)
        if running > self.counts["peak"]:
            self.counts["peak"] = running
        future.add_done_callback(functools.partial(self._job_ended, job))

    def _job_ended(self, job: Job, future: Future[Any]) -> None:
        try:
            self._on_job_done(job, future)
        finally:
            with self._lock:
                self._dispatched.discard(future)
            self._wake.set()

    def _drain(self) -> None:
        """Wait for every dispatched job to end (stopping suspends them first)."""
        while True:
            with self._lock:
                dispatched = list(self._dispatched)
            if not dispatched:
                return
            running = [f for f in dispatched if not f.done()]
            if running:
                self._hub.wait_for_all(running, None)
            else:  # done, and their jobs being finished by the done-callbacks
                self._hub.sleep(0.005)

    def _heartbeat(self) -> None:
        """Extend every claim held, every ``claim_expiry / 3`` seconds, until ``run()`` ends."""
        interval = self._claim_expiry / 3.0
        board = self._jobboard
        while not self._dead.is_set():
            self._stopping.wait(interval)
            if self._dead.is_set():
                return
            with self._lock:
                leases = [lease for lease in self._leases.values() if not lease.lost]
            if not leases:
                if self._stopping.is_set() and not self._dispatched:
                    return
                continue
            started = self._hub.monotonic()
            try:
                flags = board.extend_many([lease.claim for lease in leases], self._claim_expiry)
            except JobError as exc:
                self._log.warning(
                    "conductor %s: could not extend %d claims: %s", self._name, len(leases), exc
                )
                for lease in leases:
                    if self._hub.monotonic() >= lease.confirmed + self._claim_expiry:
                        lease.mark_lost("the board was unreachable past the claim's expiry")
                continue
            for lease, held in zip(leases, flags, strict=True):
                if held:
                    lease.confirmed_now(started)
                else:
                    lease.mark_lost(f"the board no longer records token {lease.claim.token}")

    # -- one job ------------------------------------------------------------------------------

    def _flow_detail_from_job(self, job: Job) -> FlowDetail:
        """The flow detail a job runs: ``details['flow_uuid']`` in its book, or the book's only one."""
        book = job.book
        if book is None and job.book_uuid is not None and self._persistence is not None:
            book = self._persistence.get_connection().get_logbook(job.book_uuid)
        if book is None:
            raise JobNotFoundError(f"job {job.name!r} ({job.uuid}) names no logbook to run")
        flow_uuid = job.details.get("flow_uuid")
        if flow_uuid is not None:
            detail = book.find(flow_uuid)
            if detail is None:
                raise JobNotFoundError(
                    f"job {job.name!r} ({job.uuid}): logbook {book.name!r} ({book.uuid}) has no flow detail "
                    f"{flow_uuid} (details['flow_uuid'])"
                )
            return detail
        details = list(book)
        if len(details) != 1:
            raise JobNotFoundError(
                f"job {job.name!r} ({job.uuid}): logbook {book.name!r} holds {len(details)} flow details and "
                f"the job's details name none with 'flow_uuid'"
            )
        return details[0]

    def _engine_from_job(self, job: Job) -> Any:
        """Load the engine that runs (or resumes) ``job``'s flow, recording through its fenced claim.

        The job's fence is passed before its records are read: whatever an
        earlier holder of the job wrote either is in what is read here or is
        refused by the store.
        """
        backend = self._persistence
        lease = self._leases.get(job.uuid)
        # Only a backend engines write through records anything to fence (memory:// keeps
        # live objects in this process, which no other conductor can see).
        if backend is not None and lease is not None and getattr(backend, "writes_through", False):
            fenced = FencedBackend(backend, lease)
            fenced.enter()
            backend = fenced
        flow_detail = self._flow_detail_from_job(job)
        store: dict[str, Any] = {}
        if isinstance(flow_detail.meta.get("store"), dict):
            store.update(flow_detail.meta["store"])
        job_store = job.details.get("store")
        if job_store is not None:
            if not isinstance(job_store, dict):
                raise InvalidOptionError(
                    f"job {job.name!r} ({job.uuid}): details['store'] must be a dict, got {job_store!r}"
                )
            store.update(job_store)
        return self._load_engine(flow_detail, store, backend)

    def _load_engine(self, flow_detail: FlowDetail, store: dict[str, Any], backend: Backend | None) -> Any:
        """Load the engine for a job's flow detail (compat/ loads TaskFlow's engine wrapper here)."""
        options = dict(self._engine_options)
        if self._engine is not None:
            options["engine"] = self._engine
        return load_from_detail(flow_detail, store=store or None, backend=backend, **options)

    def _listeners_from_job(self, job: Job, engine: Engine) -> list[Any]:
        """Listeners to attach to ``job``'s engine while it runs (none here; override to add)."""
        return []

    def _dispatch_job(self, job: Job) -> bool:
        """Run ``job``'s engine; True to consume the job, False to abandon it.

        An exception (the job cannot be dispatched) makes ``_on_job_done`` trash it.
        """
        engine = self._engine_from_job(job)
        listeners = self._listeners_from_job(job, engine)
        lease = self._leases.get(job.uuid)
        if lease is not None:
            lease.on_lost(engine.suspend)
        with self._lock:
            self._engines[job.uuid] = engine
        if self._stopping.is_set():
            engine.suspend()

        def suspend_if_stopping(state: str, details: Mapping[str, Any]) -> None:
            # stop() between the check before the run and the run's start suspends no engine
            # (one not yet running ignores it): the run checks again once it is running.
            if self._stopping.is_set():
                engine.suspend()

        engine.notifier.register(states.RUNNING, suspend_if_stopping)
        details = {"job": job, "engine": engine, "conductor": self}
        for listener in listeners:
            listener.register()
        try:
            for stage, event in (
                (engine.compile, "compilation"),
                (engine.prepare, "preparation"),
                (engine.validate, "validation"),
                (engine.run, "running"),
            ):
                self._notifier.notify(f"{event}_start", details)
                if self._stopping.is_set():
                    # stop() came before this stage: an engine suspended before it runs would
                    # start anyway (run() begins afresh), so the job is given back unrun.
                    return False
                stage()
                self._notifier.notify(f"{event}_end", details)
        except ClaimLostError:
            return False  # _on_job_done sees the lost lease and records nothing
        except self.NO_CONSUME_EXCEPTIONS as exc:
            self._failures[job.uuid] = f"{type(exc).__name__}: {exc}"
            self._log.warning("conductor %s: job %r failed, to be retried: %s", self._name, job.name, exc)
            return False
        except Exception as exc:
            # The flow ended (reverted or failed) and that end is recorded: the job is done.
            self._log.info("conductor %s: job %r ended in failure: %s", self._name, job.name, exc)
            return True
        finally:
            engine.notifier.deregister(states.RUNNING, suspend_if_stopping)
            for listener in listeners:
                listener.deregister()
            with self._lock:
                self._engines.pop(job.uuid, None)
        return bool(engine.storage.get_flow_state() != states.SUSPENDED)

    def _on_job_done(self, job: Job, future: Future[Any]) -> None:
        """Finish ``job`` after its dispatch ended: consume, abandon or trash it (fenced on its claim)."""
        with self._lock:
            lease = self._leases.get(job.uuid)
        try:
            self._finish_job(job, future, lease)
        finally:
            with self._lock:
                self._leases.pop(job.uuid, None)

    def _finish_job(self, job: Job, future: Future[Any], lease: Lease | None) -> None:
        failure = self._failures.pop(job.uuid, None)
        trash_reason = None
        consume = False
        try:
            consume = bool(future.result())
        except JobNotFoundError as exc:  # the job names what is not there: it can never run
            trash_reason = f"cannot be dispatched: {type(exc).__name__}: {exc}"
        except self.NO_CONSUME_EXCEPTIONS as exc:
            # The database or board failed while loading the job: a failed attempt, not a bad job.
            failure = f"{type(exc).__name__}: {exc}"
            self._log.warning(
                "conductor %s: job %r could not be loaded, to be retried: %s", self._name, job.name, exc
            )
        except Exception as exc:
            trash_reason = f"cannot be dispatched: {type(exc).__name__}: {exc}"
        delay = 0.1
        while True:
            if lease is not None and lease.lost:
                self.counts["lost"] += 1
                self._log.warning(
                    "conductor %s: job %r (%s) lost its claim; nothing more recorded: %s",
                    self._name,
                    job.name,
                    job.uuid,
                    lease.reason,
                )
                self._notifier.notify("job_claim_lost", self._finish_details(job))
                return
            try:
                self._finish_once(job, lease, consume, trash_reason, failure)
                return
            except ClaimLostError as exc:
                if lease is None:
                    self.counts["lost"] += 1
                    self._log.warning("conductor %s: job %r: %s", self._name, job.name, exc)
                    return
                lease.mark_lost(str(exc))
            except (UnclaimableJobError, JobNotFoundError) as exc:
                self._log.warning("conductor %s: could not finish job %r: %s", self._name, job.name, exc)
                return
            except JobError as exc:
                # The board is unreachable: retry while the claim can still hold, then let it lapse
                # (another conductor, or this one, resumes the job from what was recorded).
                if lease is None or self._hub.monotonic() >= lease.confirmed + self._claim_expiry:
                    self._log.warning("conductor %s: could not finish job %r: %s", self._name, job.name, exc)
                    return
                self._hub.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _finish_once(
        self, job: Job, lease: Lease | None, consume: bool, trash_reason: str | None, failure: str | None
    ) -> None:
        claim = None if lease is None else lease.claim
        board = self._jobboard
        if consume:
            board.consume(job, self._name, claim=claim)
            self._finished("consumed", "job_consumed", job, None)
        elif trash_reason is not None:
            board.trash(job, self._name, claim=claim, reason=trash_reason)
            self._finished("trashed", "job_trashed", job, trash_reason)
        elif failure is not None and board.abandons(job) + 1 >= self._max_abandons:
            reason = f"failed {board.abandons(job) + 1} times; last: {failure}"
            board.trash(job, self._name, claim=claim, reason=reason)
            self._finished("trashed", "job_trashed", job, reason)
        else:
            # A failed attempt backs off (1 s, 2 s, 4 s ... at most RETRY_BACKOFF_MAX) before any
            # conductor claims the job again: a failing dependency is not hammered.
            backoff = None
            if failure is not None:
                backoff = min(self.RETRY_BACKOFF * 2 ** board.abandons(job), self.RETRY_BACKOFF_MAX)
            board.abandon(job, self._name, claim=claim, reason=failure, retry_after=backoff)
            self._finished("abandoned", "job_abandoned", job, failure or "suspended")

    def _finish_details(self, job: Job) -> dict[str, Any]:
        return {"job": job, "conductor": self, "persistence": self._persistence}

    def _finished(self, counter: str, event: str, job: Job, reason: str | None) -> None:
        self.counts[counter] += 1
        if reason:
            self._log.info(
                "conductor %s: %s job %r (%s): %s", self._name, counter, job.name, job.uuid, reason
            )
        else:
            self._log.info("conductor %s: %s job %r (%s)", self._name, counter, job.name, job.uuid)
        self._notifier.notify(event, self._finish_details(job))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r}, board={self._jobboard.name!r})"

"""The jobboard model every backend shares: ``Job``, ``JobPriority``, ``Claim`` and ``JobBoard``.

A service posts a job (a name, the logbook its flow detail lives in, details
such as ``store`` and ``flow_uuid``) on a board; a conductor claims it for a
while (``claim(job, who, expiry)``), keeps the claim alive, runs it and then
consumes, abandons or trashes it. Every claim carries a fencing token from a
counter that only grows: ``consume``/``abandon``/``trash`` and ``verify``
succeed only while the board still records that very token for the job, so a
writer whose claim lapsed (and was taken by another) is refused, even if it
is the same owner name.

Backends implement the few primitives at the bottom of ``JobBoard``; the
public methods (TaskFlow's names and meaning) are written once, here.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from greenflow.engines import save_factory_details
from greenflow.exceptions import ClaimLostError, InvalidOptionError, JobNotFoundError, UnclaimableJobError
from greenflow.hubs import get_hub
from greenflow.masking import mask_url  # re-exported: the jobboards named it first
from greenflow.notifier import Notifier
from greenflow.persistence import FlowDetail, LogBook, json_error, new_uuid

__all__ = [
    "ABANDONED",
    "CLAIMED",
    "COMPLETE",
    "CONSUMED",
    "POSTED",
    "TRASHED",
    "UNCLAIMED",
    "Claim",
    "Job",
    "JobBoard",
    "JobPriority",
    "mask_url",
]

#: Job states (TaskFlow's): on the board and free, claimed by someone, gone (consumed or trashed).
UNCLAIMED: Final = "UNCLAIMED"
CLAIMED: Final = "CLAIMED"
COMPLETE: Final = "COMPLETE"

#: Events a board's ``notifier`` emits for what this process did to the board.
POSTED: Final = "POSTED"
CONSUMED: Final = "CONSUMED"
ABANDONED: Final = "ABANDONED"
TRASHED: Final = "TRASHED"

#: The holder a board records for a job backing off after a failed attempt (never a real owner).
BACKING_OFF: Final = "~backing-off"

#: Version of the posting format a board stores.
POSTING_VERSION: Final = 1


class JobPriority(enum.Enum):
    """How soon a job should run; boards hand out higher priorities first, then oldest first."""

    VERY_HIGH = "VERY_HIGH"
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"
    VERY_LOW = "VERY_LOW"

    @classmethod
    def convert(cls, value: Any) -> JobPriority:
        """A priority from a member, its name or value (any case)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, enum.Enum):  # TaskFlow's own enum, same names
            value = value.value
        try:
            return cls(str(value).upper())
        except ValueError:
            raise InvalidOptionError(
                f"unknown job priority {value!r}; expected one of {[p.value for p in cls]}"
            ) from None

    @property
    def rank(self) -> int:
        """0 for VERY_HIGH up to 4 for VERY_LOW (what boards sort by)."""
        return _RANKS[self]


_RANKS: Final = {p: i for i, p in enumerate(JobPriority)}


@dataclass(frozen=True, slots=True)
class Claim:
    """A claim a board granted: who holds ``job`` with which fencing ``token``, for how long."""

    job: str
    owner: str
    token: int
    expiry: float | None


class Job:
    """A job on a board: name, details, the logbook it runs, priority and (live) state.

    ``state``, ``expires_in()`` and ``wait()`` ask the board; ``book`` is
    loaded from the board's persistence backend on first use.
    """

    __slots__ = (
        "_board",
        "_book",
        "book_name",
        "book_uuid",
        "created_on",
        "details",
        "name",
        "priority",
        "sequence",
        "uuid",
    )

    def __init__(
        self,
        board: JobBoard,
        uuid: str,
        name: str,
        *,
        details: dict[str, Any],
        book_uuid: str | None,
        book_name: str | None,
        priority: JobPriority,
        created_on: float,
        sequence: int,
        book: LogBook | None = None,
    ) -> None:
        self._board = board
        self.uuid = uuid
        self.name = name
        self.details = details
        self.book_uuid = book_uuid
        self.book_name = book_name
        self.priority = priority
        self.created_on = created_on
        self.sequence = sequence
        self._book = book

    @property
    def board(self) -> JobBoard:
        """The board this job is on."""
        return self._board

    @property
    def state(self) -> str:
        """``UNCLAIMED``, ``CLAIMED`` or ``COMPLETE`` (consumed or trashed), asked of the board now."""
        return self._board.job_state(self)

    @property
    def last_modified(self) -> float:
        """When the job was posted (seconds since the epoch)."""
        return self.created_on

    @property
    def book(self) -> LogBook | None:
        """The job's logbook, from the board's persistence backend (``None`` if it names none)."""
        if self._book is None and self.book_uuid is not None:
            self._book = self._board.load_book(self)
        return self._book

    def expires_in(self) -> float | None:
        """Seconds until the job's claim lapses; ``None`` if unclaimed or claimed with no expiry."""
        return self._board.expires_in(self)

    def extend_expiry(self, expiry: float) -> bool:
        """Push this process's claim on the job ``expiry`` seconds ahead; False if it holds none."""
        return self._board.extend_expiry(self, expiry)

    def wait(self, timeout: float | None = None, delay: float = 0.01, delay_max: float = 1.0) -> bool:
        """Wait until the job is ``COMPLETE``; True if it is, False when ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state != COMPLETE:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._board.sleep(min(delay, delay_max))
            delay *= 2
        return True

    def to_trash_record(self, reason: str | None, owner: str) -> dict[str, Any]:
        """The JSON-safe record a board keeps of this job in its trash: the posting, why, by whom, when."""
        return {**self.to_posting(), "reason": reason, "trashed_by": owner, "trashed_on": time.time()}

    def to_posting(self) -> dict[str, Any]:
        """The JSON-safe record a board stores for this job."""
        return {
            "version": POSTING_VERSION,
            "uuid": self.uuid,
            "name": self.name,
            "details": self.details,
            "book": None if self.book_uuid is None else {"uuid": self.book_uuid, "name": self.book_name},
            "priority": self.priority.value,
            "created_on": self.created_on,
            "sequence": self.sequence,
        }

    @classmethod
    def from_posting(cls, board: JobBoard, posting: Mapping[str, Any]) -> Job:
        """The job a stored posting describes."""
        book = posting.get("book") or {}
        return cls(
            board,
            posting["uuid"],
            posting["name"],
            details=dict(posting.get("details") or {}),
            book_uuid=book.get("uuid"),
            book_name=book.get("name"),
            priority=JobPriority.convert(posting.get("priority", "NORMAL")),
            created_on=float(posting.get("created_on", 0.0)),
            sequence=int(posting.get("sequence", 0)),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.uuid == self.uuid and other._board is self._board

    def __hash__(self) -> int:
        return hash(self.uuid)

    def __lt__(self, other: Job) -> bool:
        return (self.priority.rank, self.sequence) < (other.priority.rank, other.sequence)

    def __str__(self) -> str:
        return f"{type(self).__name__}: {self.name} (priority={self.priority.value}, uuid={self.uuid})"

    __repr__ = __str__


class JobBoard:
    """A named board of jobs, shared by the services that post and the conductors that run them.

    ``persistence`` is the backend job logbooks are read from (``job.book``).
    Subclasses implement the primitives below the line; everything a user
    calls is defined here once.
    """

    #: How long ``claim()`` holds a job when no ``expiry`` is given (seconds); ``None`` = until released.
    DEFAULT_EXPIRY: float | None = None

    def __init__(self, name: str, conf: Mapping[str, Any], persistence: Any = None) -> None:
        self._name = name
        self._conf = dict(conf)
        self._persistence = persistence
        self.notifier = Notifier()
        # The claims this process was granted, by job uuid: how consume/abandon/trash find
        # the fencing token of a TaskFlow-style call that names only the owner.
        self._claims: dict[str, Claim] = {}

    @property
    def name(self) -> str:
        """The board's name."""
        return self._name

    @property
    def persistence(self) -> Any:
        """The persistence backend job logbooks are loaded from (may be ``None``)."""
        return self._persistence

    def __enter__(self) -> JobBoard:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public API ---------------------------------------------------------------------------

    def post(
        self,
        name: str,
        book: LogBook | None = None,
        details: Mapping[str, Any] | None = None,
        priority: Any = JobPriority.NORMAL,
    ) -> Job:
        """Post a job running ``book``'s flow; ``details`` may hold ``store`` and ``flow_uuid``."""
        if not isinstance(name, str) or not name:
            raise InvalidOptionError(f"a job needs a non-empty string name, got {name!r}")
        details = dict(details or {})
        problem = json_error(details)
        if problem is not None:
            raise InvalidOptionError(
                f"the details of job {name!r} must be JSON-serialisable: {details!r} ({problem})"
            )
        if "store" in details and not isinstance(details["store"], dict):
            raise InvalidOptionError(
                f"details['store'] of job {name!r} must be a dict of name -> value, got {details['store']!r}"
            )
        if book is not None and not isinstance(book, LogBook):
            raise InvalidOptionError(f"the book of job {name!r} must be a LogBook, got {book!r}")
        job = Job(
            self,
            new_uuid(),
            name,
            details=details,
            book_uuid=None if book is None else book.uuid,
            book_name=None if book is None else book.name,
            priority=JobPriority.convert(priority),
            created_on=time.time(),
            sequence=0,
            book=book,
        )
        job.sequence = self._post(job)
        self.notifier.notify(POSTED, {"job": job})
        return job

    def post_flow(
        self,
        name: str,
        flow_factory: Any,
        factory_args: Any = None,
        factory_kwargs: Mapping[str, Any] | None = None,
        store: Mapping[str, Any] | None = None,
        priority: Any = JobPriority.NORMAL,
    ) -> Job:
        """Record a flow made by ``flow_factory`` in a new logbook of ``persistence`` and post it.

        The logbook holds one flow detail recording the factory (so any
        conductor can rebuild the flow); the job's details carry its
        ``flow_uuid`` and ``store``.
        """
        if self._persistence is None:
            raise InvalidOptionError(
                f"post_flow({name!r}) needs a board made with a persistence backend (persistence=...)"
            )
        book = LogBook(name)
        flow_detail = FlowDetail(name)
        book.add(flow_detail)
        save_factory_details(flow_detail, flow_factory, factory_args, factory_kwargs)
        self._persistence.get_connection().save_logbook(book)
        details: dict[str, Any] = {"flow_uuid": flow_detail.uuid}
        if store:
            details["store"] = dict(store)
        return self.post(name, book=book, details=details, priority=priority)

    def iterjobs(
        self, only_unclaimed: bool = False, ensure_fresh: bool = False, limit: int | None = None
    ) -> Iterator[Job]:
        """The board's jobs, highest priority then oldest first (at most ``limit`` of them).

        Every call reads the board afresh, so ``ensure_fresh`` is accepted for
        TaskFlow's callers and changes nothing.
        """
        return iter(self._scan(only_unclaimed, limit))

    def wait(self, timeout: float | None = None) -> Iterator[Job]:
        """Wait until some job is unclaimed and return an iterator over the unclaimed jobs.

        Raises ``JobNotFoundError`` when ``timeout`` seconds pass with none.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.01
        while True:
            jobs = self._scan(True, None)
            if jobs:
                return iter(jobs)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise JobNotFoundError(
                        f"no unclaimed job appeared on board {self._name!r} within {timeout} seconds"
                    )
                delay = min(delay, left)
            self.sleep(delay)
            delay = min(delay * 2, 0.5)

    @property
    def job_count(self) -> int:
        """How many jobs are on the board (claimed or not)."""
        return self._count()

    def find_owner(self, job: Job) -> str | None:
        """Who holds ``job``'s claim, or ``None``; ``JobNotFoundError`` if it is not on the board."""
        claim = self._current_claim(job.uuid)
        return None if claim is None else claim.owner

    def job_state(self, job: Job) -> str:
        """``UNCLAIMED``, ``CLAIMED`` or ``COMPLETE``."""
        try:
            claim = self._current_claim(job.uuid)
        except JobNotFoundError:
            return COMPLETE
        return UNCLAIMED if claim is None else CLAIMED

    def claim(self, job: Job, who: str, expiry: float | None = None) -> Claim:
        """Claim ``job`` for ``who``, lapsing after ``expiry`` seconds unless extended.

        Returns the ``Claim`` with its fencing token. ``UnclaimableJobError`` when
        another claim holds it, ``JobNotFoundError`` when it is gone.
        """
        if expiry is None:
            expiry = self.DEFAULT_EXPIRY
        if expiry is not None and expiry <= 0:
            raise InvalidOptionError(f"a claim expiry must be a positive number of seconds, got {expiry!r}")
        claim = self._claim(job, who, expiry)
        self._claims[job.uuid] = claim
        self.notifier.notify(CLAIMED, {"job": job, "owner": who, "token": claim.token})
        return claim

    def claim_next(self, who: str, limit: int, expiry: float | None = None) -> list[tuple[Job, Claim]]:
        """Claim up to ``limit`` unclaimed jobs for ``who`` in board order; ``[(job, claim), ...]``.

        One round trip on boards that can (Redis); others claim one by one,
        skipping jobs another claimant takes first.
        """
        if expiry is None:
            expiry = self.DEFAULT_EXPIRY
        if expiry is not None and expiry <= 0:
            raise InvalidOptionError(f"a claim expiry must be a positive number of seconds, got {expiry!r}")
        if limit < 1:
            return []
        pairs = self._claim_next(who, limit, expiry)
        for job, claim in pairs:
            self._claims[job.uuid] = claim
            self.notifier.notify(CLAIMED, {"job": job, "owner": who, "token": claim.token})
        return pairs

    def verify(self, claim: Claim) -> bool:
        """Whether ``claim`` (its owner and token) still holds its job, asked of the board now."""
        return self._verify(claim)

    def extend_expiry(self, job: Job, expiry: float, claim: Claim | None = None) -> bool:
        """Extend this process's claim (or ``claim``) on ``job`` by ``expiry`` seconds; False if lost."""
        claim = claim if claim is not None else self._claims.get(job.uuid)
        if claim is None:
            return False
        return self._extend([claim], expiry)[0]

    def extend_many(self, claims: list[Claim], expiry: float) -> list[bool]:
        """``extend_expiry`` for many claims at once (a conductor's heartbeat): one flag each."""
        return self._extend(claims, expiry) if claims else []

    def expires_in(self, job: Job) -> float | None:
        """Seconds until ``job``'s claim lapses (``None``: unclaimed, or no expiry)."""
        return self._expires_in(job.uuid)

    def consume(self, job: Job, who: str, claim: Claim | None = None) -> None:
        """Remove a finished job; only its current claim (owner and token) may."""
        self._finish("consume", job, who, claim, None)
        self.notifier.notify(CONSUMED, {"job": job, "owner": who})

    def abandon(
        self,
        job: Job,
        who: str,
        claim: Claim | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
    ) -> int:
        """Give ``job`` back to the board for another claimant.

        With a ``reason`` the abandon counts as a failed attempt; returns how
        many failed attempts the job has had (``abandons(job)``). With
        ``retry_after`` nobody can claim it for that many seconds (a failing
        job backs off instead of cycling through the conductors at once).
        """
        count = self._finish("abandon", job, who, claim, reason, retry_after)
        self.notifier.notify(ABANDONED, {"job": job, "owner": who, "reason": reason})
        return count

    def trash(self, job: Job, who: str, claim: Claim | None = None, reason: str | None = None) -> None:
        """Move ``job`` off the board to its trash (with ``reason``): it will not run."""
        self._finish("trash", job, who, claim, reason)
        self.notifier.notify(TRASHED, {"job": job, "owner": who, "reason": reason})

    def abandons(self, job: Job) -> int:
        """How many times ``job`` was abandoned after a failed attempt."""
        return self._abandons(job.uuid)

    def trashed(self) -> list[dict[str, Any]]:
        """The trashed postings, each with its ``reason`` and who trashed it."""
        return self._trashed()

    def load_book(self, job: Job) -> LogBook:
        """``job``'s logbook from the persistence backend."""
        if self._persistence is None:
            raise JobNotFoundError(
                f"job {job.name!r} ({job.uuid}) names logbook {job.book_uuid}, but board {self._name!r} "
                f"was made without a persistence backend to load it from (pass persistence=...)"
            )
        try:
            book: LogBook = self._persistence.get_connection().get_logbook(job.book_uuid)
        except KeyError as exc:
            raise JobNotFoundError(
                f"job {job.name!r} ({job.uuid}) names logbook {job.book_uuid}, which the persistence "
                f"backend does not have"
            ) from exc
        return book

    def register_entity(self, entity: Any) -> None:
        """Accepted for TaskFlow's conductors (boards here keep no entity registry)."""

    def sleep(self, seconds: float) -> None:
        """Pause the caller (through the hub, so a green caller yields)."""
        get_hub().sleep(seconds)

    def _ensure_claim(self, job: Job, who: str, claim: Claim | None) -> Claim:
        """The claim a finish by ``who`` is fenced on: the given one, ours, or the board's current."""
        if claim is None:
            mine = self._claims.get(job.uuid)
            if mine is not None and mine.owner == who:
                claim = mine
            else:
                claim = self._current_claim(job.uuid)
                if claim is None:
                    raise UnclaimableJobError(f"job {job.name!r} ({job.uuid}) is not claimed by anyone")
        if claim.owner != who:
            raise UnclaimableJobError(
                f"job {job.name!r} ({job.uuid}) is claimed by {claim.owner!r}, not by {who!r}"
            )
        return claim

    def _finish(
        self,
        action: str,
        job: Job,
        who: str,
        claim: Claim | None,
        reason: str | None,
        retry_after: float | None = None,
    ) -> int:
        claim = self._ensure_claim(job, who, claim)
        try:
            return self._fenced_finish(action, job, claim, reason, retry_after)
        finally:
            if self._claims.get(job.uuid) == claim:
                del self._claims[job.uuid]

    @staticmethod
    def _claim_lost(action: str, job: Job, claim: Claim) -> ClaimLostError:
        """The error of a finish refused because ``claim`` no longer holds ``job``."""
        return ClaimLostError(
            f"cannot {action} job {job.name!r} ({job.uuid}): the claim of {claim.owner!r} with token "
            f"{claim.token} no longer holds it (it lapsed or was taken over)",
            job=job.uuid,
            token=claim.token,
        )

    @staticmethod
    def _dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    # -- what a backend implements ------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether ``connect()`` was called and ``close()`` not since."""
        raise NotImplementedError

    def connect(self) -> None:
        """Open the board's connection (check the server is reachable)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the board's connection."""
        raise NotImplementedError

    def _post(self, job: Job) -> int:
        """Store a new posting; return its sequence number."""
        raise NotImplementedError

    def _scan(self, only_unclaimed: bool, limit: int | None) -> list[Job]:
        raise NotImplementedError

    def _count(self) -> int:
        raise NotImplementedError

    def _current_claim(self, job_uuid: str) -> Claim | None:
        """The claim the board records now (``None``); ``JobNotFoundError`` if the job is gone."""
        raise NotImplementedError

    def _claim(self, job: Job, who: str, expiry: float | None) -> Claim:
        raise NotImplementedError

    def _claim_next(self, who: str, limit: int, expiry: float | None) -> list[tuple[Job, Claim]]:
        pairs = []
        for job in self._scan(True, limit):
            try:
                pairs.append((job, self._claim(job, who, expiry)))
            except (UnclaimableJobError, JobNotFoundError):
                continue
        return pairs

    def _verify(self, claim: Claim) -> bool:
        raise NotImplementedError

    def _extend(self, claims: list[Claim], expiry: float) -> list[bool]:
        raise NotImplementedError

    def _expires_in(self, job_uuid: str) -> float | None:
        raise NotImplementedError

    def _fenced_finish(
        self, action: str, job: Job, claim: Claim, reason: str | None, retry_after: float | None
    ) -> int:
        """Consume, abandon or trash, atomically only while ``claim``'s token holds; else ClaimLostError.

        An abandon with ``retry_after`` leaves the job held by ``BACKING_OFF``
        (token 0) for that long.
        """
        raise NotImplementedError

    def _abandons(self, job_uuid: str) -> int:
        raise NotImplementedError

    def _trashed(self) -> list[dict[str, Any]]:
        raise NotImplementedError

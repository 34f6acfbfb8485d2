"""``ZooKeeperJobBoard``: a jobboard in ZooKeeper (kazoo), with fenced claims in transactions.

Znodes, all under the board's ``path``:

- ``jobs/<uuid>``: the posting (JSON); its ``czxid`` is the job's sequence
  (creation order, board-wide), and every claim rewrites it, so its data
  *version* changes with each claim and only with claims;
- ``owners/<uuid>``: ``{"owner": ..., "deadline": ...}``, an *ephemeral*
  node (it vanishes with its holder's session) created in the same
  transaction that bumps ``jobs/<uuid>``; the claim's fencing token is that
  transaction's zxid (the owner node's ``czxid``), which only grows. A
  deadline (wall clock, like the SQL board: keep the hosts on NTP) lets a
  claim lapse ``expiry`` seconds after its last extension; a lapsed owner
  node is replaced by the next claimant;
- ``abandons/<uuid>``: failed attempts; ``trash/<uuid>``: trashed postings.

Every extension and finish is one transaction that checks the job node's
version (no claim happened since the token's was read) and the owner node's
version, so a holder whose claim lapsed and was taken over is refused. A
transaction refused while the claim still holds (its own heartbeat extended it
between the read and the commit) is read and tried again.
Under gevent or eventlet the client uses kazoo's handler for that hub. Boards
given one ``client=`` share it: the first to connect starts it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Final

from greenflow.exceptions import (
    InvalidOptionError,
    JobError,
    JobNotFoundError,
    UnclaimableJobError,
)
from greenflow.jobs._base import BACKING_OFF, Claim, Job, JobBoard
from greenflow.persistence._zookeeper_client import make_client, start_client, zookeeper_conf_from_url

__all__ = ["ZooKeeperJobBoard", "zookeeper_conf_from_url"]

_DEFAULT_PATH: Final = "/greenflow/jobs"
_OPTIONS: Final = frozenset({"hosts", "path", "timeout", "handler", "auth", "board", "url"})
# How often a finish or an extension is tried again when its transaction lost a race with
# another change of the same still-held claim (this process's heartbeat, say).
_RACE_ATTEMPTS: Final = 5


class ZooKeeperJobBoard(JobBoard):
    """A jobboard kept in ZooKeeper (see the module docstring for its znodes).

    ``conf`` holds TaskFlow's ZooKeeper board options: ``hosts`` (``"h:2181,h2:2181"``
    or a list), ``path`` (default ``/greenflow/jobs``), ``timeout`` (seconds, the
    session and connect timeout), optionally ``auth`` (``"user:password"``,
    digest) and ``handler`` (``"threading"``, ``"gevent"``, ``"eventlet"``;
    default: the current hub's), or ``url`` (``zookeeper://...``).
    """

    DEFAULT_EXPIRY = None
    #: The oldest ZooKeeper server the board works with: claims are multi-op transactions (3.4).
    MIN_ZK_VERSION: ClassVar[tuple[int, int, int]] = (3, 4, 0)

    def __init__(
        self, name: str, conf: Mapping[str, Any], persistence: Any = None, client: Any = None
    ) -> None:
        conf = dict(conf)
        if "url" in conf:
            conf = {**zookeeper_conf_from_url(conf.pop("url")), **conf}
        unknown = set(conf) - _OPTIONS
        if unknown:
            raise InvalidOptionError(
                f"unknown ZooKeeper jobboard option(s) {sorted(unknown)} for board {name!r}; "
                f"known: {sorted(_OPTIONS)}"
            )
        hosts = conf.get("hosts") or "127.0.0.1:2181"
        if not isinstance(hosts, str):
            hosts = ",".join(str(h) for h in hosts)
        self.hosts: str = hosts
        path = str(conf.get("path") or _DEFAULT_PATH)
        if not path.startswith("/") or path == "/":
            raise InvalidOptionError(f"a ZooKeeper jobboard path is absolute and not '/', got {path!r}")
        self.path = path.rstrip("/")
        try:
            self.timeout = float(conf.get("timeout", 10.0))
        except (TypeError, ValueError):
            raise InvalidOptionError(
                f"the timeout of ZooKeeper jobboard {name!r} is a number of seconds, got {conf['timeout']!r}"
            ) from None
        super().__init__(name, conf, persistence)
        self._client = client
        self._owns_client = client is None
        self._started = False

    def _p(self, kind: str, job_uuid: str = "") -> str:
        return f"{self.path}/{kind}/{job_uuid}" if job_uuid else f"{self.path}/{kind}"

    # -- connection ---------------------------------------------------------------------------

    def _make_client(self) -> Any:
        return make_client(
            self.hosts,
            self.timeout,
            self._conf.get("handler"),
            self._conf.get("auth"),
            f"ZooKeeper jobboard {self.name!r}",
        )

    @property
    def connected(self) -> bool:
        """Whether ``connect()`` succeeded and ``close()`` was not called since."""
        return self._client is not None and self._started

    def connect(self) -> None:
        """Reach the ensemble and make the board's znodes."""
        if self._client is None:
            self._client = self._make_client()
        with self._translate("connect to"):
            if not self._started:
                start_client(self._client, self.timeout, shared=not self._owns_client)
                self._started = True
            for kind in ("jobs", "owners", "abandons", "trash"):
                self._client.ensure_path(self._p(kind))

    def close(self) -> None:
        """End the board's session (its ephemeral claims lapse with it)."""
        client, self._client = self._client, None
        started, self._started = self._started, False
        if client is not None and self._owns_client and started:
            with contextlib.suppress(Exception):
                client.stop()
                client.close()

    @contextlib.contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        from kazoo.exceptions import KazooException

        try:
            yield
        except (KazooException, self._timeout_errors()) as exc:
            raise JobError(
                f"jobboard {self.name!r} could not {doing} ZooKeeper at {self.hosts} (path "
                f"{self.path!r}): {type(exc).__name__}: {exc}"
            ) from exc

    def _timeout_errors(self) -> type[BaseException]:
        client = self._client
        if client is None:
            return OSError
        error: type[BaseException] = client.handler.timeout_exception
        return error

    def _zk(self) -> Any:
        if not self._started:
            self.connect()
        return self._client

    # -- reading ------------------------------------------------------------------------------

    def _job(self, data: bytes, stat: Any) -> Job:
        try:
            job = Job.from_posting(self, json.loads(data))
        except (ValueError, KeyError, TypeError) as exc:
            raise JobError(f"jobboard {self.name!r} holds a malformed posting {data[:200]!r}: {exc}") from exc
        job.sequence = int(stat.czxid)
        return job

    @staticmethod
    def _owner(data: bytes) -> tuple[str, float | None]:
        record = json.loads(data)
        return str(record["owner"]), record.get("deadline")

    @staticmethod
    def _live(deadline: float | None) -> bool:
        return deadline is None or deadline > time.time()

    def _read_owner(self, job_uuid: str) -> tuple[str, float | None, Any] | None:
        """``(owner, deadline, stat)`` of the job's owner node, ``None`` when there is none."""
        from kazoo.exceptions import NoNodeError

        try:
            data, stat = self._zk().get(self._p("owners", job_uuid))
        except NoNodeError:
            return None
        owner, deadline = self._owner(data)
        return owner, deadline, stat

    def _read_job(self, job_uuid: str) -> tuple[bytes, Any] | None:
        from kazoo.exceptions import NoNodeError

        try:
            data, stat = self._zk().get(self._p("jobs", job_uuid))
        except NoNodeError:
            return None
        return data, stat

    def _post(self, job: Job) -> int:
        with self._translate("post a job on"):
            _, stat = self._zk().create(
                self._p("jobs", job.uuid), self._dumps(job.to_posting()).encode(), include_data=True
            )
        return int(stat.czxid)

    def _scan(self, only_unclaimed: bool, limit: int | None) -> list[Job]:
        from kazoo.exceptions import NoNodeError

        with self._translate("list the jobs of"):
            zk = self._zk()
            ids = zk.get_children(self._p("jobs"))
            job_reads = [zk.get_async(self._p("jobs", i)) for i in ids]
            owner_reads = [zk.get_async(self._p("owners", i)) for i in ids] if only_unclaimed else []
            jobs = []
            for n, read in enumerate(job_reads):
                try:
                    data, stat = read.get(timeout=self.timeout)
                except NoNodeError:
                    continue
                if only_unclaimed:
                    try:
                        owner_data, _ = owner_reads[n].get(timeout=self.timeout)
                    except NoNodeError:
                        pass
                    else:
                        if self._live(self._owner(owner_data)[1]):
                            continue
                jobs.append(self._job(data, stat))
        jobs.sort()
        return jobs[:limit] if limit else jobs

    def _count(self) -> int:
        with self._translate("count the jobs of"):
            return len(self._zk().get_children(self._p("jobs")))

    def _current_claim(self, job_uuid: str) -> Claim | None:
        with self._translate("read a claim on"):
            if self._read_job(job_uuid) is None:
                raise JobNotFoundError(f"job {job_uuid} is not on board {self.name!r}")
            current = self._read_owner(job_uuid)
        if current is None:
            return None
        owner, deadline, stat = current
        if owner == BACKING_OFF or not self._live(deadline):
            return None
        return Claim(job_uuid, owner, int(stat.czxid), None)

    # -- claims -------------------------------------------------------------------------------

    def _claim(self, job: Job, who: str, expiry: float | None) -> Claim:
        with self._translate("claim a job on"):
            read = self._read_job(job.uuid)
            if read is None:
                raise JobNotFoundError(f"job {job.name!r} ({job.uuid}) is not on board {self.name!r}")
            data, job_stat = read
            current = self._read_owner(job.uuid)
            if current is not None and self._live(current[1]):
                holder = "a back-off" if current[0] == BACKING_OFF else current[0]
                raise UnclaimableJobError(f"job {job.name!r} ({job.uuid}) is already claimed by {holder!r}")
            owner_path = self._p("owners", job.uuid)
            deadline = None if expiry is None else time.time() + expiry
            txn = self._zk().transaction()
            txn.set_data(self._p("jobs", job.uuid), data, version=job_stat.version)
            if current is not None:
                txn.delete(owner_path, version=current[2].version)
            txn.create(owner_path, self._owner_data(who, deadline), ephemeral=True)
            results = txn.commit()
        if any(isinstance(r, Exception) for r in results):
            if self._read_job(job.uuid) is None:
                raise JobNotFoundError(f"job {job.name!r} ({job.uuid}) is not on board {self.name!r}")
            raise UnclaimableJobError(
                f"job {job.name!r} ({job.uuid}) was claimed by another claimant at the same time"
            )
        token = int(results[0].mzxid)  # the transaction's zxid: the new owner node's czxid too
        return Claim(job.uuid, who, token, expiry)

    @classmethod
    def _owner_data(cls, who: str, deadline: float | None) -> bytes:
        return cls._dumps({"owner": who, "deadline": deadline}).encode()

    def _held(self, claim: Claim) -> tuple[Any, Any, float | None] | None:
        """``(job stat, owner stat, deadline)`` while ``claim`` holds its job, else ``None``.

        The job node is read first: if the owner node read after it is still
        the claim's, no claim happened in between, so the job's version is the
        one the claim set, and a transaction checking it fails if any claim
        happens later.
        """
        read = self._read_job(claim.job)
        if read is None:
            return None
        current = self._read_owner(claim.job)
        if current is None:
            return None
        owner, deadline, owner_stat = current
        if not self._holds(claim, owner, deadline, owner_stat):
            return None
        return read[1], owner_stat, deadline

    def _holds(self, claim: Claim, owner: str, deadline: float | None, owner_stat: Any) -> bool:
        """Whether an owner node read as ``owner``, ``deadline``, ``owner_stat`` is ``claim``'s, live."""
        return owner == claim.owner and int(owner_stat.czxid) == claim.token and self._live(deadline)

    def _verify(self, claim: Claim) -> bool:
        with self._translate("check a claim on"):
            return self._held(claim) is not None

    def _extend(self, claims: list[Claim], expiry: float) -> list[bool]:
        """Extend many claims in two pipelined round trips (reads, then transactions), not three each.

        Every job node is read before its owner node (one session's requests
        are served in order), as ``_held`` does; a claim whose transaction
        lost a race is extended again on its own.
        """
        from kazoo.exceptions import NoNodeError

        with self._translate("extend claims on"):
            zk = self._zk()
            reads = [
                (zk.get_async(self._p("jobs", c.job)), zk.get_async(self._p("owners", c.job))) for c in claims
            ]
            deadline = time.time() + expiry
            pending: list[tuple[int, Any]] = []
            flags = [False] * len(claims)
            for k, (claim, (job_read, owner_read)) in enumerate(zip(claims, reads, strict=True)):
                try:
                    _, job_stat = job_read.get()
                    owner_data, owner_stat = owner_read.get()
                except NoNodeError:
                    continue
                if not self._holds(claim, *self._owner(owner_data), owner_stat):
                    continue
                txn = zk.transaction()
                txn.check(self._p("jobs", claim.job), job_stat.version)
                txn.set_data(
                    self._p("owners", claim.job),
                    self._owner_data(claim.owner, deadline),
                    version=owner_stat.version,
                )
                pending.append((k, txn.commit_async()))
            for k, result in pending:
                if not any(isinstance(r, Exception) for r in result.get()):
                    flags[k] = True
                else:  # raced with a change of the job or its owner: decide it on its own
                    flags[k] = self._extend_one(claims[k], expiry)
            return flags

    def _extend_one(self, claim: Claim, expiry: float) -> bool:
        for _ in range(_RACE_ATTEMPTS):
            held = self._held(claim)
            if held is None:
                return False
            job_stat, owner_stat, _ = held
            txn = self._zk().transaction()
            txn.check(self._p("jobs", claim.job), job_stat.version)
            txn.set_data(
                self._p("owners", claim.job),
                self._owner_data(claim.owner, time.time() + expiry),
                version=owner_stat.version,
            )
            if not any(isinstance(r, Exception) for r in txn.commit()):
                return True
        raise self._still_racing("extend the claim on job", claim)

    def _expires_in(self, job_uuid: str) -> float | None:
        with self._translate("read a claim's expiry on"):
            current = self._read_owner(job_uuid)
        if current is None or current[1] is None:
            return None
        left = current[1] - time.time()
        return left if left > 0 else None

    def _fenced_finish(
        self, action: str, job: Job, claim: Claim, reason: str | None, retry_after: float | None
    ) -> int:
        with self._translate(f"{action} a job on"):
            if self._read_job(job.uuid) is None:
                raise JobNotFoundError(
                    f"cannot {action} job {job.name!r} ({job.uuid}): it is not on board {self.name!r}"
                )
            for _ in range(_RACE_ATTEMPTS):
                count = self._finish_attempt(action, job, claim, reason, retry_after)
                if count is not None:
                    return count
        raise self._still_racing(f"{action} job {job.name!r}", claim)

    def _finish_attempt(
        self, action: str, job: Job, claim: Claim, reason: str | None, retry_after: float | None
    ) -> int | None:
        """One transaction finishing ``job``: the abandon count, or ``None`` if it lost a race.

        ``ClaimLostError`` when ``claim`` no longer holds the job.
        """
        from kazoo.exceptions import NoNodeError

        zk = self._zk()
        held = self._held(claim)
        if held is None:
            raise self._claim_lost(action, job, claim)
        job_stat, owner_stat, _ = held
        job_path, owner_path = self._p("jobs", job.uuid), self._p("owners", job.uuid)
        abandons_path = self._p("abandons", job.uuid)
        try:
            count_data, count_stat = zk.get(abandons_path)
            count = int(count_data or 0)
        except NoNodeError:
            count, count_stat = 0, None
        txn = zk.transaction()
        txn.delete(owner_path, version=owner_stat.version)
        if action == "abandon":
            if retry_after:
                # A persistent holder nobody can claim past, until its deadline.
                txn.set_data(job_path, zk.get(job_path)[0], version=job_stat.version)
                txn.create(owner_path, self._owner_data(BACKING_OFF, time.time() + retry_after))
            else:
                txn.check(job_path, job_stat.version)
            if reason:
                count += 1
                if count_stat is None:
                    txn.create(abandons_path, str(count).encode())
                else:
                    txn.set_data(abandons_path, str(count).encode(), version=count_stat.version)
        else:
            if action == "trash":
                record = job.to_trash_record(reason, claim.owner)
                txn.create(self._p("trash", job.uuid), self._dumps(record).encode())
            txn.delete(job_path, version=job_stat.version)
            if count_stat is not None:
                txn.delete(abandons_path, version=count_stat.version)
            count = 0
        if any(isinstance(r, Exception) for r in txn.commit()):
            return None  # the next attempt's read says whether the claim still holds
        return count

    def _still_racing(self, doing: str, claim: Claim) -> JobError:
        return JobError(
            f"jobboard {self.name!r} could not {doing} ({claim.job}) on ZooKeeper at {self.hosts}: "
            f"the claim of {claim.owner!r} (token {claim.token}) still holds, but its nodes changed "
            f"under each of {_RACE_ATTEMPTS} attempts"
        )

    def _abandons(self, job_uuid: str) -> int:
        from kazoo.exceptions import NoNodeError

        with self._translate("read abandons on"):
            try:
                return int(self._zk().get(self._p("abandons", job_uuid))[0] or 0)
            except NoNodeError:
                return 0

    def _trashed(self) -> list[dict[str, Any]]:
        with self._translate("read the trash of"):
            zk = self._zk()
            return [json.loads(zk.get(self._p("trash", i))[0]) for i in zk.get_children(self._p("trash"))]

    def destroy(self) -> None:
        """Delete the board's znodes (tests and tear-down; never anything outside ``path``)."""
        with self._translate("clear"):
            self._zk().delete(self.path, recursive=True)

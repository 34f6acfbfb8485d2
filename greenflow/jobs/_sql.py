"""``SqlJobBoard``: a jobboard in SQL tables (PostgreSQL, MySQL/MariaDB; SQLite on one machine).

The tables come with the persistence schema's migrations (``0004_jobboard``,
applied by ``greenflow db upgrade URL`` or ``connect()``): one row per job
with its posting and its claim (``owner``, fencing ``token``,
``expires_at``). Every claim, extension and finish is one conditional
``UPDATE``/``DELETE`` on that row, so of two conductors the database lets
exactly one win; fencing tokens come from a per-board counter row, updated
in the same transaction. A claim has lapsed once ``expires_at`` is past by
the clock of the process that looks: the machines' clocks must agree (NTP)
to well within a claim's expiry.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any, Final

from greenflow.exceptions import (
    InvalidOptionError,
    JobError,
    JobNotFoundError,
    StorageError,
    UnclaimableJobError,
)
from greenflow.jobs._base import BACKING_OFF, Claim, Job, JobBoard

__all__ = ["SqlJobBoard"]

_BOARD_OPTIONS: Final = frozenset({"board", "url", "connection"})


class SqlJobBoard(JobBoard):
    """A jobboard in the database ``conf['connection']`` (or ``url``) names; boards share it by name."""

    def __init__(self, name: str, conf: Mapping[str, Any], persistence: Any = None) -> None:
        conf = dict(conf)
        url = conf.pop("url", None) or conf.get("connection")
        if not isinstance(url, str):
            raise InvalidOptionError(f"a SQL jobboard needs {{'connection': URL}}, got keys {sorted(conf)}")
        conf["connection"] = url
        super().__init__(name, conf, persistence)
        self._backend: Any = None
        self._tables: Any = None

    # -- connection ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether ``connect()`` succeeded and ``close()`` was not called since."""
        return self._backend is not None

    def connect(self) -> None:
        """Reach the database and create or migrate the jobboard tables."""
        from greenflow.persistence._sql import SqlBackend

        options = {k: v for k, v in self._conf.items() if k not in _BOARD_OPTIONS - {"connection"}}
        backend = SqlBackend(options)
        try:
            backend.upgrade()
        except StorageError as exc:
            backend.close()
            raise JobError(f"jobboard {self.name!r} could not reach its database: {exc}") from exc
        import sqlalchemy as sa

        self._tables = {
            "jobs": sa.table(
                "greenflow_jobs",
                *(
                    sa.column(c)
                    for c in ("uuid", "board", "posting", "rank", "sequence", "owner", "token", "expires_at")
                ),
                sa.column("abandons"),
            ),
            "trash": sa.table(
                "greenflow_job_trash", sa.column("uuid"), sa.column("board"), sa.column("record")
            ),
            "counters": sa.table(
                "greenflow_job_counters", sa.column("board"), sa.column("sequence"), sa.column("fence")
            ),
        }
        self._backend = backend

    def close(self) -> None:
        """Release the board's database connections."""
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    @contextlib.contextmanager
    def _tx(self, doing: str, write: bool = True) -> Iterator[Any]:
        if self._backend is None:
            self.connect()
        try:
            with self._backend.transaction(f"jobboard {self.name!r}: {doing}", write=write) as conn:
                yield conn
        except StorageError as exc:
            raise JobError(str(exc)) from exc

    # -- helpers ------------------------------------------------------------------------------

    def _bump(self, conn: Any, column: str, by: int) -> int:
        """Add ``by`` to this board's ``column`` counter (creating the row); return the new value."""
        import sqlalchemy as sa

        counters = self._tables["counters"]
        where = counters.c.board == self.name
        done = conn.execute(sa.update(counters).where(where).values({column: counters.c[column] + by}))
        if done.rowcount == 0:
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(counters).values(board=self.name, sequence=0, fence=0))
            except sa.exc.IntegrityError:
                pass  # another process created it meanwhile
            conn.execute(sa.update(counters).where(where).values({column: counters.c[column] + by}))
        return int(conn.execute(sa.select(counters.c[column]).where(where)).scalar_one())

    def _job_where(self, job_uuid: str) -> Any:
        jobs = self._tables["jobs"]
        return (jobs.c.uuid == job_uuid) & (jobs.c.board == self.name)

    def _held(self, claim: Claim, now: float) -> Any:
        import sqlalchemy as sa

        jobs = self._tables["jobs"]
        return (
            self._job_where(claim.job)
            & (jobs.c.owner == claim.owner)
            & (jobs.c.token == claim.token)
            & sa.or_(jobs.c.expires_at.is_(None), jobs.c.expires_at >= now)
        )

    def _free(self, now: float) -> Any:
        import sqlalchemy as sa

        jobs = self._tables["jobs"]
        return sa.or_(jobs.c.owner.is_(None), jobs.c.expires_at < now)

    def _job(self, text: str) -> Job:
        try:
            return Job.from_posting(self, json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise JobError(f"jobboard {self.name!r} holds a malformed posting {text[:200]!r}: {exc}") from exc

    # -- primitives ---------------------------------------------------------------------------

    def _post(self, job: Job) -> int:
        import sqlalchemy as sa

        with self._tx("posting a job") as conn:
            job.sequence = self._bump(conn, "sequence", 1)
            conn.execute(
                sa.insert(self._tables["jobs"]).values(
                    uuid=job.uuid,
                    board=self.name,
                    posting=self._dumps(job.to_posting()),
                    rank=job.priority.rank,
                    sequence=job.sequence,
                )
            )
        return job.sequence

    def _scan(self, only_unclaimed: bool, limit: int | None) -> list[Job]:
        import sqlalchemy as sa

        with self._tx("listing jobs", write=False) as conn:
            jobs = self._tables["jobs"]
            query = sa.select(jobs.c.posting).where(jobs.c.board == self.name)
            if only_unclaimed:
                query = query.where(self._free(time.time()))
            query = query.order_by(jobs.c.rank, jobs.c.sequence)
            if limit:
                query = query.limit(limit)
            rows = conn.execute(query).scalars().all()
        return [self._job(text) for text in rows]

    def _count(self) -> int:
        import sqlalchemy as sa

        with self._tx("counting jobs", write=False) as conn:
            jobs = self._tables["jobs"]
            query = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.board == self.name)
            return int(conn.execute(query).scalar_one())

    def _row(self, conn: Any, job_uuid: str) -> Any:
        import sqlalchemy as sa

        jobs = self._tables["jobs"]
        query = sa.select(jobs.c.owner, jobs.c.token, jobs.c.expires_at, jobs.c.abandons)
        return conn.execute(query.where(self._job_where(job_uuid))).first()

    def _current_claim(self, job_uuid: str) -> Claim | None:
        with self._tx("reading a claim", write=False) as conn:
            row = self._row(conn, job_uuid)
        if row is None:
            raise JobNotFoundError(f"job {job_uuid} is not on board {self.name!r}")
        if row.owner in (None, BACKING_OFF) or (row.expires_at is not None and row.expires_at < time.time()):
            return None
        return Claim(job_uuid, row.owner, int(row.token), None)

    def _claim(self, job: Job, who: str, expiry: float | None) -> Claim:
        import sqlalchemy as sa

        with self._tx("claiming a job") as conn:
            jobs = self._tables["jobs"]
            now = time.time()
            token = self._bump(conn, "fence", 1)
            done = conn.execute(
                sa.update(jobs)
                .where(self._job_where(job.uuid) & self._free(now))
                .values(owner=who, token=token, expires_at=None if expiry is None else now + expiry)
            )
            row = None if done.rowcount == 1 else self._row(conn, job.uuid)
        if done.rowcount == 1:
            return Claim(job.uuid, who, token, expiry)
        if row is None:
            raise JobNotFoundError(f"job {job.name!r} ({job.uuid}) is not on board {self.name!r}")
        raise UnclaimableJobError(f"job {job.name!r} ({job.uuid}) is already claimed by {row.owner!r}")

    def _claim_next(self, who: str, limit: int, expiry: float | None) -> list[tuple[Job, Claim]]:
        import sqlalchemy as sa

        with self._tx("claiming jobs") as conn:
            jobs = self._tables["jobs"]
            now = time.time()
            query = (
                sa.select(jobs.c.uuid, jobs.c.posting)
                .where((jobs.c.board == self.name) & self._free(now))
                .order_by(jobs.c.rank, jobs.c.sequence)
                .limit(limit)
            )
            candidates = conn.execute(query).all()
            if not candidates:
                return []
            last = self._bump(conn, "fence", len(candidates))
            pairs = []
            for token, row in enumerate(candidates, start=last - len(candidates) + 1):
                done = conn.execute(
                    sa.update(jobs)
                    .where(self._job_where(row.uuid) & self._free(now))
                    .values(owner=who, token=token, expires_at=None if expiry is None else now + expiry)
                )
                if done.rowcount == 1:
                    job = self._job(row.posting)
                    pairs.append((job, Claim(job.uuid, who, token, expiry)))
        return pairs

    def _verify(self, claim: Claim) -> bool:
        with self._tx("checking a claim", write=False) as conn:
            row = self._row(conn, claim.job)
        return bool(
            row is not None
            and row.owner == claim.owner
            and row.token == claim.token
            and (row.expires_at is None or row.expires_at >= time.time())
        )

    def _extend(self, claims: list[Claim], expiry: float) -> list[bool]:
        import sqlalchemy as sa

        with self._tx("extending claims") as conn:
            jobs = self._tables["jobs"]
            now = time.time()
            flags = []
            for claim in claims:
                done = conn.execute(
                    sa.update(jobs).where(self._held(claim, now)).values(expires_at=now + expiry)
                )
                flags.append(done.rowcount == 1)
        return flags

    def _expires_in(self, job_uuid: str) -> float | None:
        with self._tx("reading a claim's expiry", write=False) as conn:
            row = self._row(conn, job_uuid)
        if row is None or row.owner is None or row.expires_at is None:
            return None
        left = row.expires_at - time.time()
        return left if left > 0 else None

    def _fenced_finish(
        self, action: str, job: Job, claim: Claim, reason: str | None, retry_after: float | None
    ) -> int:
        import sqlalchemy as sa

        with self._tx(f"{action} a job") as conn:
            jobs = self._tables["jobs"]
            now = time.time()
            held = self._held(claim, now)
            if action == "abandon":
                values: dict[str, Any] = {"owner": None, "token": None, "expires_at": None}
                if retry_after:
                    values.update(owner=BACKING_OFF, token=0, expires_at=now + retry_after)
                if reason:
                    values["abandons"] = jobs.c.abandons + 1
                done = conn.execute(sa.update(jobs).where(held).values(values))
            else:
                done = conn.execute(sa.delete(jobs).where(held))
                if done.rowcount == 1 and action == "trash":
                    record = job.to_trash_record(reason, claim.owner)
                    conn.execute(
                        sa.insert(self._tables["trash"]).values(
                            uuid=job.uuid, board=self.name, record=self._dumps(record)
                        )
                    )
            row = self._row(conn, job.uuid)
        if done.rowcount == 1:
            return int(row.abandons) if action == "abandon" and row is not None else 0
        if row is None:
            raise JobNotFoundError(
                f"cannot {action} job {job.name!r} ({job.uuid}): it is not on board {self.name!r}"
            )
        raise self._claim_lost(action, job, claim)

    def _abandons(self, job_uuid: str) -> int:
        with self._tx("reading abandons", write=False) as conn:
            row = self._row(conn, job_uuid)
        return 0 if row is None else int(row.abandons)

    def _trashed(self) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        with self._tx("reading the trash", write=False) as conn:
            trash = self._tables["trash"]
            rows = conn.execute(sa.select(trash.c.record).where(trash.c.board == self.name)).scalars().all()
        return [json.loads(r) for r in rows]

    def destroy(self) -> None:
        """Delete this board's jobs, trash and counters (tests and tear-down)."""
        import sqlalchemy as sa

        with self._tx("clearing the board") as conn:
            for table in self._tables.values():
                conn.execute(sa.delete(table).where(table.c.board == self.name))

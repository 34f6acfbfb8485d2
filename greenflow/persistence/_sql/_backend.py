"""``SqlBackend``: logbooks in TaskFlow's SQL tables through SQLAlchemy Core.

URLs: ``sqlite:///path.db`` (a file; WAL journal and a busy timeout, so
several engines and processes can share it), ``postgresql://...`` (psycopg 3
unless a driver is named), ``mysql://...``/``mariadb://...`` (PyMySQL unless a
driver is named).

Schema: the tables are TaskFlow's (``logbooks``, ``flowdetails``,
``atomdetails``) plus greenflow's ``greenflow_claims``, created and migrated
by alembic migrations shipped in this package (``upgrade()`` or ``greenflow
db upgrade URL``). A database whose greenflow schema is missing or old is
refused with a ``StorageError`` saying how to upgrade it, with one
exception: a SQLite database with no tables at all (a new file) is created
on first use, since nothing in it can be harmed. Server databases and
anything holding tables are never migrated without being asked.

Cost: a transition is one ``UPDATE`` of one ``atomdetails`` row in its own
short transaction (no read first); new atom details are inserted in one
batch. No transaction stays open while tasks run.

Green threads: psycopg 3 and PyMySQL wait on sockets through the patched
``select``/``socket``, so a query suspends only its own green thread (this
backend switches psycopg to a cooperative wait function when the process is
monkey-patched). SQLite is a C library: each statement blocks the hub for
its duration (short, local statements).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import StaticPool

from greenflow.exceptions import InvalidOptionError, NotFoundError, StorageError
from greenflow.hubs._patching import active_patching, os_sleep
from greenflow.masking import mask_conf, mask_text, mask_url
from greenflow.persistence._claims import fence_passed, owner_is_stale
from greenflow.persistence._models import AtomDetail, FlowDetail, LogBook, TaskDetail
from greenflow.persistence._sql import _migrate
from greenflow.persistence._sql._codec import (
    atom_from_row,
    atom_json,
    atom_values,
    book_from_row,
    book_values,
    encoded_size,
    flow_from_row,
    flow_values,
    iso,
    utcnow,
)
from greenflow.persistence._sql._schema import (
    FENCES,
    HEAD_REVISION,
    JSON_COLUMNS,
    atomdetails,
    claims,
    fences,
    flowdetails,
    logbooks,
)
from greenflow.persistence._writer import WriteGroup

__all__ = ["SqlBackend", "SqlConnection", "normalise_url"]

#: Under a green hub, the most rows one batched statement of a writer's round carries outside
#: PostgreSQL (whose rows travel as one JSON parameter), and the writer's sleep between two.
_GREEN_CHUNK_ROWS: Final = 100
_CHUNK_PAUSE_S: Final = 0.0001

# Options of the conf dict: ours, and TaskFlow's names for the same things.
_POOL_OPTIONS: Final = {
    "pool_size": "pool_size",
    "max_pool_size": "pool_size",
    "max_overflow": "max_overflow",
    "pool_timeout": "pool_timeout",
    "pool_recycle": "pool_recycle",
    "idle_timeout": "pool_recycle",
    "pool_pre_ping": "pool_pre_ping",
}
# TaskFlow options accepted so a TaskFlow conf works unchanged, with no effect here.
_IGNORED_OPTIONS: Final = frozenset({"max_retries", "mysql_sql_mode", "mysql_traditional_mode"})
_OPTIONS: Final = (
    frozenset({"connection", "echo", "connect_args", "busy_timeout", "sqlite_synchronous", *_POOL_OPTIONS})
    | _IGNORED_OPTIONS
)

_UNKNOWN: Final = object()
#: Seconds a pooled connection may sit unused before it is pinged on its next use.
_PING_AFTER_IDLE: Final = 1.0
#: Room left in a MySQL statement for everything but the result (other columns, SQL text).
_ROW_ROOM: Final = 256 * 1024

_DEFAULT_DRIVERS: Final = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
_CONNECT_TIMEOUT: Final = 10  # seconds: an unreachable server fails in bounded time
_SQLITE_BUSY_TIMEOUT: Final = 30.0  # seconds another writer may hold the file before we give up

_UPDATE_ATOM: Final = sa.update(atomdetails).where(atomdetails.c.uuid == sa.bindparam("b_uuid"))
_UPDATE_FLOW: Final = sa.update(flowdetails).where(flowdetails.c.uuid == sa.bindparam("b_uuid"))
_DELETE_CLAIM: Final = sa.delete(claims).where(
    claims.c.flow_uuid == sa.bindparam("f"), claims.c.owner == sa.bindparam("o")
)
_UPDATE_BOOK: Final = sa.update(logbooks).where(logbooks.c.uuid == sa.bindparam("b_uuid"))


def normalise_url(text: str) -> sa.URL:
    """The SQLAlchemy URL for ``text``, with greenflow's default driver where none is named."""
    try:
        url = sa.make_url(text)
    except (sa_exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise InvalidOptionError(f"not a database URL: {mask_url(text)!r} ({mask_text(str(exc))})") from exc
    name, plus, driver = url.drivername.partition("+")
    if name == "postgres":
        name = "postgresql"
    if not plus:
        return url.set(drivername=_DEFAULT_DRIVERS.get(name, name))
    return url.set(drivername=f"{name}+{driver}")


def _driver_error(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    first = mask_text(text.splitlines()[0]) if text else ""
    return f"{type(orig if orig is not None else exc).__name__}: {first}"


def _make_psycopg_cooperative() -> None:
    # psycopg 3 waits in C (wait_c) unless it sees gevent's select patching; under
    # eventlet (or a gevent patch it missed) that blocks the OS thread and every
    # green thread on it. wait_select goes through the patched select module.
    from greenflow.hubs import active_patching

    if active_patching() is None:
        return
    import psycopg.waiting as waiting

    wait_c = getattr(waiting, "wait_c", None)
    if wait_c is not None and waiting.wait is wait_c:
        waiting.wait = waiting.wait_select


class SqlBackend:
    """A persistence backend on SQLite, PostgreSQL or MySQL/MariaDB in TaskFlow's schema.

    ``conf`` is ``{'connection': URL, ...}`` with optional ``echo``,
    ``pool_size`` (or TaskFlow's ``max_pool_size``), ``max_overflow``,
    ``pool_timeout``, ``pool_recycle`` (or ``idle_timeout``),
    ``pool_pre_ping``, ``connect_args``, ``busy_timeout`` (SQLite, seconds)
    and ``sqlite_synchronous``; TaskFlow's ``max_retries`` and MySQL mode
    options are accepted and ignored. Nothing connects until
    ``get_connection()``.
    """

    writes_through = True

    def __init__(self, conf: Mapping[str, Any] | str) -> None:
        if isinstance(conf, str):
            conf = {"connection": conf}
        self.conf: dict[str, Any] = dict(conf)
        unknown = set(self.conf) - _OPTIONS
        if unknown:
            raise InvalidOptionError(
                f"unknown SQL backend option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}"
            )
        connection = self.conf.get("connection")
        if not isinstance(connection, str):
            raise InvalidOptionError(f"the SQL backend needs {{'connection': URL}}, got {mask_conf(conf)!r}")
        self.url = normalise_url(connection)
        #: The URL with any password masked, for messages.
        self.url_text = mask_url(self.url.render_as_string(hide_password=True))
        self._engine = self._create_engine()
        # A backend dropped without close() (``load(flow, backend={'connection': url})``
        # makes one per engine) still closes its pooled database connections.
        weakref.finalize(self, self._engine.dispose)
        self._reachable = False
        self._schema_ok = False
        self._max_value: object = _UNKNOWN
        #: Whether the writer's rows are JSON text (PostgreSQL's batched statements).
        self._pg_rows = self.url.get_backend_name() == "postgresql"

    # -- engine ------------------------------------------------------------------------------

    def _create_engine(self) -> sa.Engine:
        url, conf = self.url, self.conf
        kwargs: dict[str, Any] = {"echo": bool(conf.get("echo", False))}
        connect_args = dict(conf.get("connect_args") or {})
        backend = url.get_backend_name()
        if backend == "sqlite":
            connect_args.setdefault("timeout", float(conf.get("busy_timeout", _SQLITE_BUSY_TIMEOUT)))
            connect_args.setdefault("check_same_thread", False)
            if url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool  # one shared in-memory database
        else:
            for key, option in _POOL_OPTIONS.items():
                if key in conf:
                    kwargs[option] = conf[key]
            if backend in ("mysql", "mariadb"):
                kwargs.setdefault("pool_recycle", 3600)  # servers drop idle connections (wait_timeout)
            if "connect_timeout" not in url.query:
                connect_args.setdefault("connect_timeout", _CONNECT_TIMEOUT)
        try:
            engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        except (sa_exc.ArgumentError, ImportError, TypeError) as exc:
            raise InvalidOptionError(
                f"cannot use database URL {self.url_text!r}: {exc}; the drivers come with "
                f"pip install greenflow[postgres] or greenflow[mysql]"
            ) from exc
        if backend == "sqlite":
            self._setup_sqlite(engine)
        else:
            self._ping_idle_connections(engine)
        if url.get_driver_name() == "psycopg":
            _make_psycopg_cooperative()
            self._setup_psycopg(engine)
        return engine

    def _setup_sqlite(self, engine: sa.Engine) -> None:
        synchronous = self.conf.get("sqlite_synchronous")

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, record: Any) -> None:
            # Transactions are begun by the "begin" hook below, not by the driver's guesswork.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
            cursor.execute("PRAGMA foreign_keys=ON")
            if synchronous is not None:
                cursor.execute(f"PRAGMA synchronous={str(synchronous).upper()}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            # A writing transaction takes the write lock at once; a deferred one that
            # later writes could fail with SQLITE_BUSY instead of waiting its turn.
            write = conn.get_execution_options().get("greenflow_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    @staticmethod
    def _ping_idle_connections(engine: sa.Engine) -> None:
        # A server drops idle connections (restarts, wait_timeout, an operator's kill): a
        # pooled connection idle for a while is pinged before use and replaced if dead, so
        # the next run does not fail on it. Busy connections are not pinged (no extra
        # round trip per save), unlike SQLAlchemy's pool_pre_ping.
        @event.listens_for(engine, "checkin")
        def _checkin(dbapi_conn: Any, record: Any) -> None:
            record.info["greenflow_idle_since"] = time.monotonic()

        @event.listens_for(engine, "checkout")
        def _checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
            since = record.info.get("greenflow_idle_since")
            if since is None or time.monotonic() - since < _PING_AFTER_IDLE:
                return
            try:
                cursor = dbapi_conn.cursor()
                try:
                    cursor.execute("SELECT 1")
                finally:
                    cursor.close()
                dbapi_conn.rollback()
            except Exception as exc:  # any driver error: the pool replaces the connection
                raise sa_exc.DisconnectionError(f"idle connection is dead: {exc}") from exc

    @staticmethod
    def _setup_psycopg(engine: sa.Engine) -> None:
        from psycopg.types.string import TextLoader

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, record: Any) -> None:
            # TaskFlow's JSON columns are native json on PostgreSQL; read them as text
            # so one decoder (with one error message) serves every database.
            dbapi_conn.adapters.register_loader("json", TextLoader)

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine (for tools and tests; greenflow's own access goes through connections)."""
        return self._engine

    @contextlib.contextmanager
    def transaction(self, what: str, write: bool = True) -> Iterator[sa.Connection]:
        """A connection in a transaction (committed on exit); database errors become ``StorageError``."""
        try:
            with self._engine.connect() as conn:
                if write:
                    conn.execution_options(greenflow_write=True)
                with conn.begin():
                    yield conn
        except sa_exc.SQLAlchemyError as exc:
            raise StorageError(f"{what} failed on {self.url_text}: {_driver_error(exc)}") from exc

    def value_problem(self, value: Any) -> str | None:
        """Why this database cannot store ``value`` (JSON-safe already) as an atom's result, or ``None``.

        MySQL and MariaDB refuse a statement over ``max_allowed_packet`` (and
        drop the connection); the engine asks first, so such a result fails its
        atom (which reverts) instead of the save failing with memory and the
        database disagreeing.
        """
        limit = self._statement_limit()
        if limit is None:
            return None
        size = encoded_size(value)
        if size <= limit:
            return None
        return (
            f"it takes {size} bytes as JSON, more than the {limit} bytes a statement may carry on "
            f"{self.url_text} (the server's max_allowed_packet less room for the rest of the row); "
            f"store big values elsewhere and return a reference, or raise max_allowed_packet"
        )

    def _statement_limit(self) -> int | None:
        if self._max_value is _UNKNOWN:
            limit: int | None = None
            if self.url.get_backend_name() in ("mysql", "mariadb"):
                with self.transaction("reading max_allowed_packet", write=False) as conn:
                    packet = conn.exec_driver_sql("SELECT @@max_allowed_packet").scalar()
                limit = int(packet) - _ROW_ROOM if packet else None
            self._max_value = limit
        return self._max_value  # type: ignore[return-value]

    # -- Backend protocol --------------------------------------------------------------------

    def get_connection(self) -> SqlConnection:
        """A connection; the first one checks the database is reachable (``StorageError`` if not)."""
        if not self._reachable:
            self._check_reachable()
        return SqlConnection(self)

    def close(self) -> None:
        """Close every pooled database connection."""
        self._engine.dispose()

    # -- schema ------------------------------------------------------------------------------

    def _check_reachable(self) -> None:
        try:
            with self._engine.connect() as conn:
                empty_sqlite = conn.dialect.name == "sqlite" and not sa.inspect(conn).get_table_names()
        except sa_exc.SQLAlchemyError as exc:
            raise StorageError(f"cannot connect to {self.url_text}: {_driver_error(exc)}") from exc
        self._reachable = True
        if empty_sqlite:
            self.upgrade()

    def upgrade(self, revision: str = "head") -> None:
        """Create or migrate the schema (TaskFlow's tables where missing, greenflow's own).

        ``StorageError`` if a newer greenflow migrated the database past what this one knows.
        """
        with self.transaction(f"upgrading the schema to {revision}") as conn:
            current = _migrate.current_revision(conn)
            if current is not None and current not in _migrate.known_revisions():
                raise self._newer_schema(current)
            _migrate.run_upgrade(conn, revision)
        self._reachable = True
        self._schema_ok = False

    def check_schema(self) -> None:
        """``StorageError`` (saying how to upgrade) unless the schema is at this greenflow's revision."""
        if self._schema_ok:
            return
        with self.transaction("reading the schema version", write=False) as conn:
            current = _migrate.current_revision(conn)
        if current == HEAD_REVISION:
            self._schema_ok = True
            return
        how = (
            f"upgrade it with `greenflow db upgrade {self.url_text}` or `backend.get_connection().upgrade()`"
        )
        if current is None:
            raise StorageError(f"the database at {self.url_text} has no greenflow schema; {how}")
        if current in _migrate.known_revisions():
            raise StorageError(
                f"the greenflow schema at {self.url_text} is at revision {current!r}, older than "
                f"{HEAD_REVISION!r}; {how}"
            )
        raise self._newer_schema(current)

    def _newer_schema(self, current: str) -> StorageError:
        return StorageError(
            f"the greenflow schema at {self.url_text} is at revision {current!r}, which this version "
            f"of greenflow does not know (a newer greenflow migrated it); upgrade greenflow"
        )

    # -- group commit (greenflow.persistence._writer) ------------------------------------------

    @property
    def blocks_hub(self) -> bool:
        """Whether the driver blocks the OS thread (SQLite, a C library): the writer offloads it."""
        return self.url.get_backend_name() == "sqlite"

    # Rows are made when a transition is recorded, in the engine's green thread, so the
    # writer only joins them. On PostgreSQL a row is its JSON text (see _pg_insert_rows).

    def _row(self, values: dict[str, Any]) -> Any:
        return _json_object(values) if self._pg_rows else values

    def _execute_rows(self, conn: sa.Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
        """``conn.execute(statement, rows)``; under a green hub, ``_GREEN_CHUNK_ROWS`` rows a statement.

        A batched statement's rows are made ready in Python before anything is
        sent (PyMySQL escapes every value, some 20 µs a row; SQLAlchemy
        processes every row's parameters): a round of a thousand rows kept the
        hub's thread 20 ms. In chunks, with a pause between statements (the
        transaction stays open): a green sleep on a timer on MariaDB, so the
        hub serves the others; on SQLite, whose rounds run on the hub's offload
        thread, a real one, which hands the interpreter's lock to the hub's
        thread (it otherwise waits for the lock up to the switch interval, 5 ms,
        at each turn).
        """
        if len(rows) <= _GREEN_CHUNK_ROWS or active_patching() is None:
            conn.execute(statement, rows)
            return
        pause = os_sleep if self.blocks_hub else time.sleep  # time.sleep is patched: green
        for start in range(0, len(rows), _GREEN_CHUNK_ROWS):
            if start:
                pause(_CHUNK_PAUSE_S)
            conn.execute(statement, rows[start : start + _GREEN_CHUNK_ROWS])

    def atom_row(self, detail: AtomDetail) -> Any:
        """The ``atomdetails`` row of ``detail`` now (what the writer will store)."""
        return self._atom_row_at(detail, utcnow())

    def _atom_row_at(self, detail: AtomDetail, now: datetime.datetime) -> Any:
        if self._pg_rows:
            text = atom_json(detail, now.isoformat())
            if text is not None:
                return text
        return self._row(atom_values(detail, now))

    def flow_row(self, flow_detail: FlowDetail) -> Any:
        """The ``flowdetails`` row of ``flow_detail`` now."""
        return self._row(flow_values(flow_detail, utcnow()))

    def book_rows(self, book: LogBook) -> dict[str, list[Any]]:
        """The rows that insert a new logbook with its flow and atom details."""
        now = utcnow()
        row = self._row
        return {
            "books": [row({"uuid": book.uuid, **book_values(book, None)})],
            "flows": [
                row({"uuid": fd.uuid, "parent_uuid": book.uuid, "created_at": now, **flow_values(fd, now)})
                for fd in book
            ],
            "atoms": [self._new_atom_row(ad, fd.uuid, now) for fd in book for ad in fd],
            "flow_uuids": [fd.uuid for fd in book],
        }

    def _new_atom_row(self, detail: AtomDetail, flow_uuid: str, now: datetime.datetime) -> Any:
        row = self._atom_row_at(detail, now)
        if self._pg_rows:  # the row is a JSON object's text
            return _pg_keyed(detail.uuid, json.dumps(flow_uuid), now.isoformat(), row)
        return {"uuid": detail.uuid, "parent_uuid": flow_uuid, "created_at": now, **row}

    def write_batch(self, groups: list[WriteGroup]) -> list[BaseException | None]:
        """Write every group in one transaction; the error of each group, or ``None``.

        A refused claim fails its own group only. If the transaction fails,
        each group is written again in its own transaction, so exactly the
        groups that cannot be written fail, each with the database's error,
        and none is left half-written.
        """
        self.check_schema()
        try:
            with self.transaction(f"writing the transitions of {len(groups)} engine(s)") as conn:
                return self._write_groups(conn, groups)
        except StorageError as exc:
            if len(groups) == 1:
                return [exc]
        errors: list[BaseException | None] = []
        for group in groups:
            what = f"writing the transitions of flow detail {group.flow_uuid}"
            try:
                with self.transaction(what) as conn:
                    errors.append(self._write_groups(conn, [group])[0])
            except StorageError as exc:
                errors.append(exc)
        return errors

    @staticmethod
    def _atom_upsert(conn: sa.Connection, sample: Mapping[str, Any]) -> Any:
        """Multi-row ``INSERT ... ON CONFLICT/DUPLICATE KEY UPDATE`` of atom rows: batched updates.

        A row-by-row ``UPDATE`` costs the server one statement per transition;
        as an upsert, a round's transitions are a few multi-row statements.
        The ``created_at`` of an existing row is kept.
        """
        updated = [key for key in sample if key not in ("uuid", "created_at")]
        if conn.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            lite = sqlite_insert(atomdetails)
            return lite.on_conflict_do_update(
                index_elements=["uuid"], set_={key: lite.excluded[key] for key in updated}
            )
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        my = mysql_insert(atomdetails)
        return my.on_duplicate_key_update({key: my.inserted[key] for key in updated})

    def _write_groups(self, conn: sa.Connection, groups: list[WriteGroup]) -> list[BaseException | None]:
        errors: list[BaseException | None] = [None] * len(groups)
        pg = self._pg_rows
        created = [g.create for g in groups if g.create is not None]
        if created:
            for key, table in (("books", logbooks), ("flows", flowdetails), ("atoms", atomdetails)):
                rows = [row for c in created for row in c[key]]
                if rows and pg:
                    _pg_insert_rows(conn, table.name, _columns(key, with_keys=True), rows)
                elif rows:
                    self._execute_rows(conn, sa.insert(table), rows)
        # A flow created in this round cannot be claimed by anyone else: no need to look.
        fresh = {uuid for c in created for uuid in c["flow_uuids"]}
        claiming = [(k, g.claim) for k, g in enumerate(groups) if g.claim is not None]
        granted: list[WriteGroup] = []
        if claiming:
            uuids = [claim[0] for _, claim in claiming if claim[0] not in fresh]
            holders: dict[str, str] = (
                {
                    row.flow_uuid: row.owner
                    for row in conn.execute(
                        sa.select(claims.c.flow_uuid, claims.c.owner).where(
                            _among(claims.c.flow_uuid, uuids, pg)
                        )
                    )
                }
                if uuids
                else {}
            )
            new: list[dict[str, Any]] = []
            stale: list[dict[str, Any]] = []
            now = utcnow()
            for k, (flow_uuid, owner) in claiming:
                holder = holders.get(flow_uuid)
                if holder is not None and holder != owner and not owner_is_stale(holder):
                    errors[k] = StorageError(
                        f"flow detail {flow_uuid} is already claimed by {holder} (claim asked by {owner}); "
                        f"if {holder} is gone, release it with release_flow({flow_uuid!r}, {holder!r})"
                    )
                    continue
                if holder != owner:
                    if holder is not None:
                        stale.append({"f": flow_uuid, "o": holder})
                    new.append({"flow_uuid": flow_uuid, "owner": owner, "claimed_at": now})
                holders[flow_uuid] = owner
                if flow_uuid not in fresh:
                    granted.append(groups[k])
            if stale:
                conn.execute(
                    sa.delete(claims).where(
                        sa.tuple_(claims.c.flow_uuid, claims.c.owner).in_([(r["f"], r["o"]) for r in stale])
                    )
                )
            if new and pg:
                # One statement: an executemany goes through psycopg's pipeline row by row in
                # Python, a round's 200 claims keeping the hub for milliseconds.
                stamp = now.isoformat()
                _pg_insert_rows(
                    conn,
                    claims.name,
                    ("flow_uuid", "owner", "claimed_at"),
                    [
                        json.dumps({"flow_uuid": r["flow_uuid"], "owner": r["owner"], "claimed_at": stamp})
                        for r in new
                    ],
                )
            elif new:
                self._execute_rows(conn, sa.insert(claims), new)
        live = [g for k, g in enumerate(groups) if errors[k] is None]
        if pg:
            flow_rows = [
                f'{{"uuid":{json.dumps(uuid)},{row[1:]}' for g in live for uuid, row in g.flows.items()
            ]
            if flow_rows:
                _pg_update_rows(conn, "flowdetails", _columns("flows"), flow_rows)
        else:
            flows = [{"b_uuid": uuid, **row} for g in live for uuid, row in g.flows.items()]
            if flows:
                self._execute_rows(conn, _UPDATE_FLOW, flows)
        now = utcnow()
        if pg:
            stamp = now.isoformat()
            atom_rows = [
                _pg_keyed(uuid, parent, stamp, row)
                for g in live
                for parent in (json.dumps(g.flow_uuid),)
                for uuid, row in g.atoms.items()
            ]
            if atom_rows:
                _pg_insert_rows(
                    conn, "atomdetails", _columns("atoms", with_keys=True), atom_rows, _columns("atoms")
                )
        else:
            atoms = [
                {"uuid": uuid, "parent_uuid": g.flow_uuid, "created_at": now, **row}
                for g in live
                for uuid, row in g.atoms.items()
            ]
            if atoms:
                self._execute_rows(conn, self._atom_upsert(conn, atoms[0]), atoms)
        releases = [g.release for g in live if g.release is not None]
        if releases:
            if pg:
                conn.exec_driver_sql(
                    f"DELETE FROM {claims.name} WHERE (flow_uuid, owner) IN "
                    "(SELECT * FROM unnest(%(f)s::varchar[], %(o)s::varchar[]))",
                    {"f": [flow for flow, _ in releases], "o": [owner for _, owner in releases]},
                )
            else:
                conn.execute(
                    sa.delete(claims).where(sa.tuple_(claims.c.flow_uuid, claims.c.owner).in_(releases))
                )
        if granted:
            # The claim's re-read (what another engine may have recorded meanwhile), same transaction.
            where = _among(flowdetails.c.uuid, [g.claim[0] for g in granted if g.claim is not None], pg)
            stored = {fd.uuid: fd for fd in SqlConnection._flows(conn, where, lazy=False)}
            for g in granted:
                assert g.claim is not None
                g.claimed = stored.get(g.claim[0])
        return errors

    def __repr__(self) -> str:
        return f"SqlBackend({self.url_text!r})"


def _json_object(values: dict[str, Any]) -> str:
    """A row as a JSON object for ``json_populate_recordset`` (JSON columns embedded as they are)."""
    fields = []
    for key, value in values.items():
        if value is None:
            text = "null"
        elif key in JSON_COLUMNS:
            text = value  # already JSON text (the codec's encoding)
        elif isinstance(value, datetime.datetime):
            text = f'"{value.isoformat()}"'
        else:
            text = json.dumps(value)
        fields.append(f'"{key}":{text}')
    return "{" + ",".join(fields) + "}"


@functools.cache
def _columns(kind: str, with_keys: bool = False) -> tuple[str, ...]:
    """The columns the codec writes for ``kind`` (``books``, ``flows``, ``atoms``)."""
    now = utcnow()
    if kind == "books":
        return ("uuid", *book_values(LogBook("x"), now))
    values = flow_values(FlowDetail("x"), now) if kind == "flows" else atom_values(TaskDetail("x"), now)
    keys = ("uuid", "parent_uuid", "created_at") if with_keys else ()
    return (*keys, *values)


def _pg_keyed(uuid: str, parent_json: str, stamp: str, row: str) -> str:
    """An atom row's JSON object text with its keys in front (``parent_json``: the parent's uuid as JSON)."""
    return f'{{"uuid":{json.dumps(uuid)},"parent_uuid":{parent_json},"created_at":"{stamp}",{row[1:]}'


def _pg_array(values: Iterable[str]) -> Any:
    """``values`` as one PostgreSQL ``varchar[]`` parameter."""
    return sa.bindparam(None, list(values), type_=postgresql.ARRAY(sa.String))


def _among(column: Any, values: list[str], pg: bool) -> Any:
    """``column IN values``; on PostgreSQL ``column = ANY(one array parameter)``.

    A round's ``IN`` of hundreds of values is otherwise a statement of as many
    placeholders, of a new length each round, which SQLAlchemy renders and
    psycopg parses again in Python every time (milliseconds on the hub).
    """
    return column == sa.any_(_pg_array(values)) if pg else column.in_(values)


def _pg_insert_rows(
    conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[str], update: Any = None
) -> None:
    """Insert (or, with ``update``, upsert those columns of) many rows in one PostgreSQL statement.

    The rows travel as one JSON parameter: a thousand rows cost one
    statement to send, parse and plan, not a thousand (psycopg parses a
    statement's placeholders in Python: a multi-row ``VALUES`` of 14,000
    parameters costs it seconds).
    """
    names = ", ".join(columns)
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{table}, %(rows)s)"
    )
    if update:
        sets = ", ".join(f"{key} = EXCLUDED.{key}" for key in update)
        sql += f" ON CONFLICT (uuid) DO UPDATE SET {sets}"
    conn.exec_driver_sql(sql, {"rows": "[" + ",".join(rows) + "]"})


def _pg_update_rows(conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[str]) -> None:
    """Update many rows (by ``uuid``) in one PostgreSQL statement."""
    sets = ", ".join(f"{key} = v.{key}" for key in columns)
    conn.exec_driver_sql(
        f"UPDATE {table} AS t SET {sets} FROM json_populate_recordset(NULL::{table}, %(rows)s) AS v "
        f"WHERE t.uuid = v.uuid",
        {"rows": "[" + ",".join(rows) + "]"},
    )


def _group(rows: Iterable[Any]) -> dict[str, list[AtomDetail]]:
    by_flow: dict[str, list[AtomDetail]] = {}
    for row in rows:
        mapping = row._mapping
        by_flow.setdefault(mapping["parent_uuid"], []).append(atom_from_row(mapping))
    return by_flow


#: Raise a fence to a token unless it is higher already; the token it holds then is read back.
_PASS_FENCE: Final[dict[str, str]] = {
    "postgresql": (
        f"INSERT INTO {FENCES} (name, token) VALUES (:name, :token) ON CONFLICT (name) "
        f"DO UPDATE SET token = GREATEST({FENCES}.token, EXCLUDED.token) RETURNING token"
    ),
    "sqlite": (
        f"INSERT INTO {FENCES} (name, token) VALUES (:name, :token) ON CONFLICT (name) "
        f"DO UPDATE SET token = max(token, excluded.token) RETURNING token"
    ),
    # MySQL/MariaDB: no RETURNING with ON DUPLICATE KEY; the row stays locked by this
    # transaction's upsert, so reading it back in the same transaction is just as atomic.
    "mysql": (
        f"INSERT INTO {FENCES} (name, token) VALUES (:name, :token) "
        f"ON DUPLICATE KEY UPDATE token = GREATEST(token, VALUES(token))"
    ),
}
_READ_FENCE: Final = sa.text(f"SELECT token FROM {FENCES} WHERE name = :name FOR UPDATE")


class SqlConnection:
    """The ``Connection`` of ``SqlBackend``: each call is one short transaction.

    A connection made by ``fenced(name, token)`` passes that fence in every
    write transaction, before anything else it writes (see ``pass_fence``).
    """

    def __init__(self, backend: SqlBackend, fence: tuple[str, int] | None = None) -> None:
        self.backend = backend
        self.fence = fence

    def fenced(self, name: str, token: int) -> SqlConnection:
        """A connection whose writes are refused (``StaleFenceError``) once a higher token passed ``name``.

        The check and the write are one transaction: a writer whose job was
        taken over (the new holder's token passed the fence) cannot store
        anything, however late its write arrives.
        """
        return SqlConnection(self.backend, (name, token))

    def pass_fence(self) -> None:
        """Raise this connection's fence to its token now (one transaction); ``StaleFenceError`` if stale."""
        if self.fence is None:
            raise StorageError(f"{self!r} is not fenced: nothing to pass")
        with self._tx(f"passing fence {self.fence[0]} with token {self.fence[1]}"):
            pass

    @contextlib.contextmanager
    def _fenced_tx(self, what: str, fence: tuple[str, int]) -> Iterator[sa.Connection]:
        name, token = fence
        with self.backend.transaction(what) as conn:
            dialect = "mysql" if conn.dialect.name in ("mysql", "mariadb") else conn.dialect.name
            statement = _PASS_FENCE.get(dialect)
            if statement is None:
                raise StorageError(f"{what}: fenced writes are not supported on {conn.dialect.name}")
            params = {"name": name, "token": token}
            result = conn.execute(sa.text(statement), params)
            held = result.scalar() if result.returns_rows else conn.execute(_READ_FENCE, params).scalar()
            if held is None:
                raise StorageError(f"{what}: fence {name} was written but cannot be read back")
            if int(held) != token:
                raise fence_passed(what, name, token, int(held))
            yield conn

    def _tx(self, what: str, write: bool = True) -> contextlib.AbstractContextManager[sa.Connection]:
        self.backend.check_schema()
        if write and self.fence is not None:
            return self._fenced_tx(what, self.fence)
        return self.backend.transaction(what, write)

    # -- writing -----------------------------------------------------------------------------

    def save_logbook(self, book: LogBook) -> LogBook:
        """Store a logbook, its flow details and their atom details (insert or update each)."""
        now = utcnow()
        book_row = book_values(book, now)
        flows = list(book)
        flow_rows = {fd.uuid: flow_values(fd, now) for fd in flows}
        atom_rows = {ad.uuid: (fd.uuid, atom_values(ad, now)) for fd in flows for ad in fd}
        with self._tx(f"saving logbook {book.name!r} ({book.uuid})") as conn:
            updated = conn.execute(_UPDATE_BOOK, {"b_uuid": book.uuid, **book_row}).rowcount > 0
            if not updated:
                conn.execute(sa.insert(logbooks), {"uuid": book.uuid, **book_values(book, None)})
            if flow_rows:
                self._upsert_flows(conn, book.uuid, flow_rows, now)
            if atom_rows:
                self._upsert_atoms(conn, list(flow_rows), atom_rows, now)
        if updated:
            book.updated_at = iso(now)
        return book

    @staticmethod
    def _upsert_flows(conn: sa.Connection, book_uuid: str, rows: dict[str, dict[str, Any]], now: Any) -> None:
        stored = set(
            conn.scalars(sa.select(flowdetails.c.uuid).where(flowdetails.c.uuid.in_(list(rows)))).all()
        )
        new = [
            {"uuid": uuid, "parent_uuid": book_uuid, "created_at": now, **row}
            for uuid, row in rows.items()
            if uuid not in stored
        ]
        old = [
            {"b_uuid": uuid, "parent_uuid": book_uuid, **row} for uuid, row in rows.items() if uuid in stored
        ]
        if new:
            conn.execute(sa.insert(flowdetails), new)
        if old:
            conn.execute(_UPDATE_FLOW, old)

    @staticmethod
    def _upsert_atoms(
        conn: sa.Connection,
        flow_uuids: list[str],
        rows: dict[str, tuple[str, dict[str, Any]]],
        now: Any,
        update_existing: bool = True,
    ) -> None:
        stored = set(
            conn.scalars(sa.select(atomdetails.c.uuid).where(atomdetails.c.parent_uuid.in_(flow_uuids))).all()
        )
        new = [
            {"uuid": uuid, "parent_uuid": parent, "created_at": now, **row}
            for uuid, (parent, row) in rows.items()
            if uuid not in stored
        ]
        if new:
            conn.execute(sa.insert(atomdetails), new)
        if update_existing:
            old = [{"b_uuid": uuid, **row} for uuid, (_, row) in rows.items() if uuid in stored]
            if old:
                conn.execute(_UPDATE_ATOM, old)

    def update_flow_details(self, flow_detail: FlowDetail) -> FlowDetail:
        """Store the flow detail's state and meta, and insert (in one batch) its atoms not stored yet.

        Atom details already stored are not rewritten: each was written by its
        own ``update_atom_details``. ``NotFoundError`` if the flow detail was
        never saved (save it in its logbook with ``save_logbook``).
        """
        now = utcnow()
        row = flow_values(flow_detail, now)
        atoms = {ad.uuid: (flow_detail.uuid, ad) for ad in flow_detail}
        with self._tx(f"saving flow detail {flow_detail.name!r} ({flow_detail.uuid})") as conn:
            if conn.execute(_UPDATE_FLOW, {"b_uuid": flow_detail.uuid, **row}).rowcount == 0:
                raise NotFoundError(
                    f"flow detail {flow_detail.name!r} ({flow_detail.uuid}) is not stored in "
                    f"{self.backend.url_text}; add it to a logbook and save_logbook() it first"
                )
            if atoms:
                stored = set(
                    conn.scalars(
                        sa.select(atomdetails.c.uuid).where(atomdetails.c.parent_uuid == flow_detail.uuid)
                    ).all()
                )
                new = [
                    {"uuid": uuid, "parent_uuid": parent, "created_at": now, **atom_values(ad, now)}
                    for uuid, (parent, ad) in atoms.items()
                    if uuid not in stored
                ]
                if new:
                    conn.execute(sa.insert(atomdetails), new)
        return flow_detail

    def update_atom_details(self, atom_detail: AtomDetail) -> AtomDetail:
        """Store one atom detail: a single ``UPDATE`` of its row.

        ``NotFoundError`` for an atom detail not stored yet: it has no row to
        update (and the detail does not know its flow); ``update_flow_details``
        of its flow inserts it, as in TaskFlow, where atoms are added through their flow.
        """
        row = atom_values(atom_detail, utcnow())
        with self._tx(f"saving atom {atom_detail.name!r} ({atom_detail.uuid})") as conn:
            if conn.execute(_UPDATE_ATOM, {"b_uuid": atom_detail.uuid, **row}).rowcount == 0:
                raise NotFoundError(
                    f"atom detail {atom_detail.name!r} ({atom_detail.uuid}) is not stored in "
                    f"{self.backend.url_text}; add it to its flow detail and update_flow_details() it first"
                )
        return atom_detail

    def destroy_logbook(self, book_uuid: str) -> None:
        """Remove a logbook, its flow and atom details and their claims; ``NotFoundError`` if none."""
        flows = sa.select(flowdetails.c.uuid).where(flowdetails.c.parent_uuid == book_uuid)
        with self._tx(f"destroying logbook {book_uuid}") as conn:
            conn.execute(sa.delete(claims).where(claims.c.flow_uuid.in_(flows)))
            conn.execute(sa.delete(atomdetails).where(atomdetails.c.parent_uuid.in_(flows)))
            conn.execute(sa.delete(flowdetails).where(flowdetails.c.parent_uuid == book_uuid))
            if conn.execute(sa.delete(logbooks).where(logbooks.c.uuid == book_uuid)).rowcount == 0:
                raise NotFoundError(f"no logbook with uuid {book_uuid!r} in {self.backend.url_text}")

    def clear_all(self) -> None:
        """Remove every logbook, flow detail, atom detail, claim and fence."""
        with self._tx("clearing all logbooks") as conn:
            for table in (fences, claims, atomdetails, flowdetails, logbooks):
                conn.execute(sa.delete(table))

    # -- reading -----------------------------------------------------------------------------

    def get_logbook(self, book_uuid: str, lazy: bool = False) -> LogBook:
        """The logbook with this uuid (with its flow and atom details unless ``lazy``)."""
        with self._tx(f"reading logbook {book_uuid}", write=False) as conn:
            row = conn.execute(sa.select(logbooks).where(logbooks.c.uuid == book_uuid)).first()
            if row is None:
                raise NotFoundError(f"no logbook with uuid {book_uuid!r} in {self.backend.url_text}")
            book = book_from_row(row._mapping)
            if not lazy:
                for fd in self._flows(conn, flowdetails.c.parent_uuid == book_uuid, lazy=False):
                    book.add(fd)
        return book

    def get_logbooks(self, lazy: bool = False) -> list[LogBook]:
        """Every stored logbook (with flow and atom details unless ``lazy``)."""
        with self._tx("reading logbooks", write=False) as conn:
            books = {
                row.uuid: book_from_row(row._mapping)
                for row in conn.execute(sa.select(logbooks).order_by(logbooks.c.created_at))
            }
            if not lazy:
                parents = {
                    row.uuid: row.parent_uuid
                    for row in conn.execute(sa.select(flowdetails.c.uuid, flowdetails.c.parent_uuid))
                }
                for fd in self._flows(conn, sa.true(), lazy=False):
                    book = books.get(parents.get(fd.uuid, ""))
                    if book is not None:
                        book.add(fd)
        return list(books.values())

    @staticmethod
    def _flows(conn: sa.Connection, where: Any, lazy: bool) -> list[FlowDetail]:
        flows = [
            flow_from_row(row._mapping)
            for row in conn.execute(sa.select(flowdetails).where(where).order_by(flowdetails.c.created_at))
        ]
        if not lazy and flows:
            ids = sa.select(flowdetails.c.uuid).where(where)
            atoms = _group(
                conn.execute(
                    sa.select(atomdetails)
                    .where(atomdetails.c.parent_uuid.in_(ids))
                    .order_by(atomdetails.c.created_at)
                )
            )
            for fd in flows:
                for ad in atoms.get(fd.uuid, ()):
                    fd.add(ad)
        return flows

    def get_flows_for_book(self, book_uuid: str, lazy: bool = False) -> list[FlowDetail]:
        """The flow details of a logbook (with atom details unless ``lazy``)."""
        with self._tx(f"reading the flows of logbook {book_uuid}", write=False) as conn:
            flows = self._flows(conn, flowdetails.c.parent_uuid == book_uuid, lazy)
            if (
                not flows
                and conn.execute(sa.select(logbooks.c.uuid).where(logbooks.c.uuid == book_uuid)).first()
                is None
            ):
                raise NotFoundError(f"no logbook with uuid {book_uuid!r} in {self.backend.url_text}")
        return flows

    def get_flow_details(self, flow_uuid: str, lazy: bool = False) -> FlowDetail:
        """The flow detail with this uuid (with its atom details unless ``lazy``)."""
        with self._tx(f"reading flow detail {flow_uuid}", write=False) as conn:
            flows = self._flows(conn, flowdetails.c.uuid == flow_uuid, lazy)
        if not flows:
            raise NotFoundError(f"no flow detail with uuid {flow_uuid!r} in {self.backend.url_text}")
        return flows[0]

    def get_atom_details(self, atom_uuid: str) -> AtomDetail:
        """The atom detail with this uuid."""
        with self._tx(f"reading atom detail {atom_uuid}", write=False) as conn:
            row = conn.execute(sa.select(atomdetails).where(atomdetails.c.uuid == atom_uuid)).first()
        if row is None:
            raise NotFoundError(f"no atom detail with uuid {atom_uuid!r} in {self.backend.url_text}")
        return atom_from_row(row._mapping)

    def get_atoms_for_flow(self, flow_uuid: str) -> list[AtomDetail]:
        """The atom details of a flow detail."""
        return list(self.get_flow_details(flow_uuid))

    # -- claims ------------------------------------------------------------------------------

    def get_claim(self, flow_uuid: str) -> str | None:
        """The owner holding the flow detail, if any."""
        with self._tx(f"reading the claim on flow {flow_uuid}", write=False) as conn:
            owner = conn.scalar(sa.select(claims.c.owner).where(claims.c.flow_uuid == flow_uuid))
        return None if owner is None else str(owner)

    def claim_flow(self, flow_uuid: str, owner: str) -> None:
        """Record ``owner`` as running the flow detail (atomic across processes).

        The claim is a row keyed by the flow's uuid, so of two concurrent
        claims the database accepts one. ``StorageError`` if another owner
        holds it, unless that owner is a process of this host that has exited
        (``owner_is_stale``): its claim is taken over. Claiming again by the
        same owner is allowed.
        """
        for _ in range(3):
            try:
                with self._tx(f"claiming flow {flow_uuid} for {owner}") as conn:
                    conn.execute(
                        sa.insert(claims), {"flow_uuid": flow_uuid, "owner": owner, "claimed_at": utcnow()}
                    )
                return
            except StorageError as exc:
                if not isinstance(exc.__cause__, sa_exc.IntegrityError):
                    raise
            holder = self.get_claim(flow_uuid)
            if holder == owner:
                return
            if holder is not None and not owner_is_stale(holder):
                raise StorageError(
                    f"flow detail {flow_uuid} is already claimed by {holder} (claim asked by {owner}); "
                    f"if {holder} is gone, release it with release_flow({flow_uuid!r}, {holder!r})"
                )
            if holder is not None:
                self.release_flow(flow_uuid, holder)  # only the stale owner's row: a new claim survives
        raise StorageError(f"flow detail {flow_uuid}: could not claim it for {owner} (claims kept changing)")

    def release_flow(self, flow_uuid: str, owner: str) -> None:
        """Drop ``owner``'s claim on the flow detail (nothing happens if it holds none)."""
        with self._tx(f"releasing flow {flow_uuid}") as conn:
            conn.execute(sa.delete(claims).where(claims.c.flow_uuid == flow_uuid, claims.c.owner == owner))

    # -- schema ------------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Create or migrate the schema to this greenflow's version (safe to run again)."""
        self.backend.upgrade()

    def validate(self) -> None:
        """``StorageError`` unless the database is reachable and its schema current."""
        if not self.backend._reachable:
            self.backend._check_reachable()
        self.backend.check_schema()

    def close(self) -> None:
        """Nothing to release: each call returns its database connection to the pool."""

    def __repr__(self) -> str:
        fence = "" if self.fence is None else f", fence={self.fence[0]!r} token={self.fence[1]}"
        return f"SqlConnection({self.backend.url_text!r}{fence})"

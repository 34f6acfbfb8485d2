"""The SQL backend on SQLite, PostgreSQL and MariaDB: TaskFlow's tables, migrations, claims, errors.

Each test gets a database of its own (a SQLite file, or a freshly created
PostgreSQL/MariaDB database dropped afterwards); rows are checked with plain
SQL where the point is what lands in TaskFlow's tables.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("sqlalchemy", reason="the SQL backend needs SQLAlchemy: pip install greenflow[sql]")

import sqlalchemy as sa

import greenflow
from greenflow import states
from greenflow.atoms import Task
from greenflow.exceptions import NotFoundError, StorageError
from greenflow.failure import Failure
from greenflow.patterns import LinearFlow
from greenflow.persistence import FlowDetail, LogBook, RetryDetail, TaskDetail, fetch_backend, make_owner
from greenflow.persistence._sql import SqlBackend
from greenflow.persistence._sql._migrate import head_revision
from greenflow.persistence._sql._schema import HEAD_REVISION

from .conftest import MYSQL_URL, POSTGRES_URL, _ServerDatabase, _with_driver

KINDS = ("sqlite", "postgresql", "mariadb")


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A URL of an empty database of its own (no tables at all)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/greenflow.db"
        return
    server = POSTGRES_URL if request.param == "postgresql" else MYSQL_URL
    db = _ServerDatabase(server, "PostgreSQL" if request.param == "postgresql" else "MariaDB")
    db.create()
    if db.url is None:
        pytest.skip(db.skip_reason or f"{request.param} unavailable")
    try:
        yield db.url
    finally:
        db.drop()


@pytest.fixture
def backend(url: str) -> Iterator[SqlBackend]:
    backend = SqlBackend({"connection": url})
    backend.get_connection().upgrade()
    yield backend
    backend.close()


def query(url: str, statement: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(_with_driver(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def make_book() -> tuple[LogBook, FlowDetail]:
    book = LogBook("book")
    book.meta = {"owner": "ops"}
    flow = FlowDetail("flow")
    flow.meta = {"k": [1, 2]}
    book.add(flow)
    task = TaskDetail("fetch")
    task.version = (1, 0)
    task.state = states.SUCCESS
    task.results = {"image": "abc", "sizes": [1, 2]}
    task.meta = {"progress": 1.0}
    flow.add(task)
    retry = RetryDetail("again")
    try:
        raise ValueError("first try")
    except ValueError as exc:
        failure = Failure.from_exception(exc)
    retry.results = [(1, {"fetch": failure})]
    flow.add(retry)
    return book, flow


# -- round trips --------------------------------------------------------------------------------


def test_logbook_round_trip_with_flows_and_atoms(backend: SqlBackend) -> None:
    conn = backend.get_connection()
    book, flow = make_book()
    conn.save_logbook(book)
    other = SqlBackend({"connection": backend.conf["connection"]})
    try:
        got = other.get_connection().get_logbook(book.uuid)
    finally:
        other.close()
    assert (got.name, got.meta, len(got)) == ("book", {"owner": "ops"}, 1)
    got_flow = got.find(flow.uuid)
    assert got_flow is not None and got_flow.meta == {"k": [1, 2]}
    task = got_flow.find_by_name("fetch")
    assert isinstance(task, TaskDetail)
    assert (task.state, task.results, task.version, task.meta) == (
        states.SUCCESS,
        {"image": "abc", "sizes": [1, 2]},
        "1.0",  # a version is stored as dotted text and read back as that text
        {"progress": 1.0},
    )
    retry = got_flow.find_by_name("again")
    assert isinstance(retry, RetryDetail)
    [(result, failures)] = retry.results
    assert result == 1 and failures["fetch"].exception_str == "first try"
    assert failures["fetch"].check(ValueError)


def test_rows_use_taskflow_encodings(backend: SqlBackend) -> None:
    book, flow = make_book()
    backend.get_connection().save_logbook(book)
    url = backend.conf["connection"]
    cast = "::text" if url.startswith("postgresql") else ""
    rows = {
        r.name: r
        for r in query(
            url,
            f"SELECT name, atom_type, state, intention, version, results{cast} AS results, "
            f"meta{cast} AS meta, parent_uuid, created_at FROM atomdetails",
        )
    }
    assert rows["fetch"].atom_type == "TASK_DETAIL" and rows["again"].atom_type == "RETRY_DETAIL"
    assert (rows["fetch"].version, rows["fetch"].intention) == ("1.0", "EXECUTE")
    assert json.loads(rows["fetch"].results) == {"image": "abc", "sizes": [1, 2]}
    history = json.loads(rows["again"].results)
    assert history[0][0] == 1 and history[0][1]["fetch"]["exc_type_names"][0] == "ValueError"
    assert history[0][1]["fetch"]["version"] == 1 and "exc_args" in history[0][1]["fetch"]
    assert rows["fetch"].parent_uuid == flow.uuid and rows["fetch"].created_at is not None


def test_update_atom_details_is_one_row_update(backend: SqlBackend) -> None:
    conn = backend.get_connection()
    book, flow = make_book()
    conn.save_logbook(book)
    task = flow.find_by_name("fetch")
    assert task is not None
    statements: list[str] = []
    sa.event.listen(backend.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    task.state = states.REVERTED
    task.intention = states.REVERT
    conn.update_atom_details(task)
    writes = [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT", "SELECT"))]
    assert len(writes) == 1 and writes[0].lstrip().upper().startswith("UPDATE ATOMDETAILS")
    assert conn.get_atom_details(task.uuid).state == states.REVERTED


def test_update_flow_details_inserts_new_atoms_in_one_batch(backend: SqlBackend) -> None:
    conn = backend.get_connection()
    book, flow = make_book()
    conn.save_logbook(book)
    for name in ("a", "b", "c"):
        flow.add(TaskDetail(name))
    flow.state = states.RUNNING
    conn.update_flow_details(flow)
    got = conn.get_flow_details(flow.uuid)
    assert got.state == states.RUNNING and sorted(d.name for d in got) == ["a", "again", "b", "c", "fetch"]
    lazy = conn.get_flow_details(flow.uuid, lazy=True)
    assert len(lazy) == 0 and lazy.state == states.RUNNING
    assert sorted(d.name for d in conn.get_atoms_for_flow(flow.uuid)) == ["a", "again", "b", "c", "fetch"]


def test_lazy_loads_destroy_and_clear_all(backend: SqlBackend) -> None:
    conn = backend.get_connection()
    book, flow = make_book()
    conn.save_logbook(book)
    book2, _ = make_book()
    conn.save_logbook(book2)
    assert len(conn.get_logbook(book.uuid, lazy=True)) == 0
    assert {b.uuid for b in conn.get_logbooks()} == {book.uuid, book2.uuid}
    assert [len(f) for f in conn.get_flows_for_book(book.uuid)] == [2]
    assert [len(f) for f in conn.get_flows_for_book(book.uuid, lazy=True)] == [0]
    conn.destroy_logbook(book.uuid)
    with pytest.raises(NotFoundError, match=book.uuid):
        conn.get_logbook(book.uuid)
    with pytest.raises(NotFoundError):
        conn.get_flow_details(flow.uuid)
    with pytest.raises(NotFoundError):
        conn.destroy_logbook(book.uuid)
    conn.clear_all()
    assert conn.get_logbooks() == []


# -- claims -------------------------------------------------------------------------------------


def test_claims_refuse_a_second_owner_until_released(backend: SqlBackend) -> None:
    conn = backend.get_connection()
    book, flow = make_book()
    conn.save_logbook(book)
    conn.claim_flow(flow.uuid, "host:1:first")
    conn.claim_flow(flow.uuid, "host:1:first")  # the holder may claim again
    with pytest.raises(StorageError, match="already claimed by host:1:first"):
        conn.claim_flow(flow.uuid, "host:2:second")
    conn.release_flow(flow.uuid, "host:2:second")  # not the holder: nothing happens
    assert conn.get_claim(flow.uuid) == "host:1:first"
    conn.release_flow(flow.uuid, "host:1:first")
    conn.claim_flow(flow.uuid, "host:2:second")
    assert conn.get_claim(flow.uuid) == "host:2:second"


def test_claim_of_an_exited_process_on_this_host_is_taken_over(backend: SqlBackend) -> None:
    conn = backend.get_connection()
    book, flow = make_book()
    conn.save_logbook(book)
    child = subprocess.run(
        [sys.executable, "-c", "from greenflow.persistence import make_owner; print(make_owner('dead'))"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": ".", "PATH": ""},
    )
    dead_owner = child.stdout.strip()
    conn.claim_flow(flow.uuid, dead_owner)
    conn.claim_flow(flow.uuid, make_owner("alive"))
    assert conn.get_claim(flow.uuid) == make_owner("alive")


# -- schema -------------------------------------------------------------------------------------


def test_upgrade_is_idempotent_and_uses_our_version_table(backend: SqlBackend) -> None:
    backend.get_connection().upgrade()
    backend.get_connection().upgrade()
    url = backend.conf["connection"]
    assert query(url, "SELECT version_num FROM greenflow_alembic_version") == [(HEAD_REVISION,)]
    assert head_revision() == HEAD_REVISION
    backend.get_connection().validate()


def test_schema_missing_or_too_old_says_how_to_upgrade(url: str) -> None:
    if url.startswith("sqlite"):
        query(url, "CREATE TABLE unrelated (x INTEGER)")  # not empty: never auto-migrated
    backend = SqlBackend({"connection": url})
    try:
        with pytest.raises(StorageError, match=r"greenflow db upgrade .*get_connection\(\)\.upgrade\(\)"):
            backend.get_connection().get_logbooks()
        backend.upgrade("0001_taskflow_tables")
        with pytest.raises(StorageError, match=rf"older than '{HEAD_REVISION}'.*greenflow db upgrade"):
            backend.get_connection().validate()
        backend.get_connection().upgrade()
        assert backend.get_connection().get_logbooks() == []
    finally:
        backend.close()


def test_empty_sqlite_file_is_created_on_first_use(tmp_path: Any) -> None:
    backend = fetch_backend(f"sqlite:///{tmp_path}/new.db")
    try:
        assert backend.get_connection().get_logbooks() == []
    finally:
        backend.close()


def test_newer_schema_revision_is_refused(backend: SqlBackend) -> None:
    url = backend.conf["connection"]
    query(url, "UPDATE greenflow_alembic_version SET version_num = '9999_future'")
    fresh = SqlBackend({"connection": url})
    try:
        with pytest.raises(StorageError, match=r"'9999_future'.*does not know"):
            fresh.get_connection().validate()
        # Upgrading cannot go back either: the same error, not alembic's.
        with pytest.raises(StorageError, match=r"'9999_future'.*does not know.*upgrade greenflow"):
            fresh.get_connection().upgrade()
    finally:
        fresh.close()


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "postgresql://someone:s3cret@127.0.0.1:1/db",
        "mysql://someone:s3cret@127.0.0.1:1/db",
    ],
)
def test_unreachable_server_fails_fast_naming_the_url(target: str) -> None:
    backend = SqlBackend({"connection": target})
    started = time.monotonic()
    with pytest.raises(StorageError, match=r"cannot connect to .*someone:\*\*\*@127\.0\.0\.1:1/db") as info:
        backend.get_connection()
    assert time.monotonic() - started < 5
    assert "s3cret" not in str(info.value) and "refused" in str(info.value).lower()


def test_value_that_is_not_json_names_the_atom_and_field(backend: SqlBackend) -> None:
    conn = backend.get_connection()
    book, flow = make_book()
    conn.save_logbook(book)
    task = flow.find_by_name("fetch")
    assert task is not None
    task.results = {"when": object()}
    with pytest.raises(StorageError, match=r"atom 'fetch'.*field 'results'"):
        conn.update_atom_details(task)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("atom_type", "'TASK_DETAIL'", None),
        ("state", "'EXPLODED'", "unknown state 'EXPLODED'"),
        ("results", "'{not json'", "column 'results' holds invalid JSON"),
    ],
)
def test_corrupt_row_names_the_table_and_uuid(
    backend: SqlBackend, column: str, value: str, problem: str | None
) -> None:
    url = backend.conf["connection"]
    if column == "results" and url.startswith("postgresql"):
        pytest.skip("PostgreSQL's json column refuses invalid JSON itself")
    conn = backend.get_connection()
    book, flow = make_book()
    conn.save_logbook(book)
    task = flow.find_by_name("fetch")
    assert task is not None
    if column == "atom_type":  # an atom_type the enum allows but greenflow reads as wrong kind is fine;
        # an unknown one can only exist where the column is text (SQLite)
        if not url.startswith("sqlite"):
            pytest.skip("the enum column refuses unknown atom types itself")
        value, problem = "'WORKFLOW_DETAIL'", "unknown atom_type 'WORKFLOW_DETAIL'"
    query(url, f"UPDATE atomdetails SET {column} = {value} WHERE uuid = :u", u=task.uuid)
    with pytest.raises(StorageError, match=f"'atomdetails' \\(uuid '{task.uuid}'\\): {problem}"):
        conn.get_atom_details(task.uuid)


# -- an engine end to end -----------------------------------------------------------------------


class Double(Task):
    def execute(self, x: int) -> int:
        return x * 2


def test_engine_run_records_every_final_state(url: str) -> None:
    if not url.startswith("sqlite"):
        SqlBackend({"connection": url}).upgrade()
    flow = LinearFlow("doubling").add(
        Double("one", provides="y", rebind={"x": "x"}),
        Double("two", provides="z", rebind={"x": "y"}),
    )
    engine = greenflow.load(flow, store={"x": 3}, backend={"connection": url})
    engine.run()
    assert engine.storage.fetch("z") == 12
    cast = "::text" if url.startswith("postgresql") else ""
    rows = {r.name: r for r in query(url, f"SELECT name, state, results{cast} AS results FROM atomdetails")}
    assert {n: (r.state, json.loads(r.results)) for n, r in rows.items()} == {
        "one": ("SUCCESS", 6),
        "two": ("SUCCESS", 12),
    }
    assert [r.state for r in query(url, "SELECT state FROM flowdetails")] == ["SUCCESS"]


# -- sizes and encodings ------------------------------------------------------------------------


class BigRevert(Task):
    """Executes fine; its revert returns ``kib`` KiB of text (TEXT columns hold 64 KiB)."""

    def execute(self) -> str:
        return "ran"

    def revert(self, **kwargs: Any) -> str:
        return "r" * (int(kwargs.get("kib", 70)) * 1024)


class Explode(Task):
    def execute(self) -> None:
        raise ValueError("exploded")


class Returns(Task):
    def __init__(self, name: str, value: Any) -> None:
        super().__init__(name, provides=name)
        self.value = value

    def execute(self) -> Any:
        return self.value


def _rows(url: str, column: str) -> dict[str, Any]:
    cast = "::text" if url.startswith("postgresql") else ""
    return {
        r.name: (r.state, r.v)
        for r in query(url, f"SELECT name, state, {column}{cast} AS v FROM atomdetails")
    }


def test_revert_results_over_64_kib_are_stored_like_on_every_backend(backend: SqlBackend, url: str) -> None:
    flow = LinearFlow("big-revert").add(BigRevert("big"), Explode("boom"))
    engine = greenflow.load(flow, backend=backend)
    with pytest.raises(ValueError, match="exploded"):
        engine.run()
    state, text = _rows(url, "revert_results")["big"]
    assert state == states.REVERTED
    assert len(json.loads(text)) == 70 * 1024


def test_non_ascii_text_is_stored_as_utf8_not_escapes(backend: SqlBackend, url: str) -> None:
    word = "crème brûlée ☕ 東京"
    greenflow.load(LinearFlow("utf8").add(Returns("word", word)), backend=backend).run()
    _state, text = _rows(url, "results")["word"]
    assert word in text and "\\u" not in text


TRICKY_RESULTS: dict[str, Any] = {
    "text": "abc",
    "quoted": 'say "hi" \\ back\nslash',
    "json_looking": '{"a": 1}',
    "number": 0.1,
    "big": 2**70,
    "nested": {"k": [1, None, True, "é"], "e": {}},
    "nothing": None,
}


def test_results_of_every_json_kind_read_back_as_they_were_returned(backend: SqlBackend, url: str) -> None:
    # PostgreSQL rows travel as one JSON object each, their JSON columns nested in it: a
    # string result must stay a JSON string, not become the column's text.
    flow = LinearFlow("kinds").add(*(Returns(name, value) for name, value in TRICKY_RESULTS.items()))
    engine = greenflow.load(flow, backend=backend)
    engine.run()
    stored = _rows(url, "results")
    assert {name: json.loads(text) if text is not None else None for name, (_, text) in stored.items()} == (
        TRICKY_RESULTS
    )
    again = backend.get_connection().get_flow_details(engine.storage.flow_uuid)
    assert {ad.name: ad.results for ad in again} == TRICKY_RESULTS


@pytest.mark.timeout(120)
def test_a_result_over_the_servers_packet_limit_fails_its_atom_and_the_flow_reverts(
    backend: SqlBackend, url: str
) -> None:
    if not url.startswith("mysql"):
        pytest.skip("only MySQL/MariaDB cap one statement's size (max_allowed_packet)")
    (packet,) = query(url, "SELECT @@max_allowed_packet")[0]
    flow = LinearFlow("huge").add(Returns("small", "ok"), Returns("huge", "x" * (int(packet) + 1024)))
    engine = greenflow.load(flow, backend=backend)
    with pytest.raises(StorageError) as info:
        engine.run()
    assert "'huge'" in str(info.value) and "max_allowed_packet" in str(info.value)
    rows = {name: state for name, (state, _v) in _rows(url, "results").items()}
    assert rows == {"small": states.REVERTED, "huge": states.REVERTED}
    assert [r.state for r in query(url, "SELECT state FROM flowdetails")] == [states.REVERTED]


class OpaqueRevert(Task):
    """Its revert returns something no backend can store."""

    def execute(self) -> str:
        return "ran"

    def revert(self, **_kwargs: Any) -> object:
        return object()


def test_a_revert_result_that_cannot_be_stored_is_a_recorded_revert_failure(
    backend: SqlBackend, url: str
) -> None:
    flow = LinearFlow("opaque-revert").add(OpaqueRevert("opaque"), Explode("boom"))
    engine = greenflow.load(flow, backend=backend)
    with pytest.raises(StorageError, match=r"atom 'opaque'"):
        engine.run()
    rows = {name: state for name, (state, _v) in _rows(url, "results").items()}
    assert rows == {"opaque": states.REVERT_FAILURE, "boom": states.REVERTED}
    assert [r.state for r in query(url, "SELECT state FROM flowdetails")] == [states.FAILURE]

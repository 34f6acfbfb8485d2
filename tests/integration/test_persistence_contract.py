"""One persistence contract, every backend: memory, directory, SQLite, PostgreSQL, MariaDB, ZooKeeper.

Each test runs on each backend (the ``backend_kind`` fixture). "Reopening"
means a new backend object on the same store, as a new process would get.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import greenflow
from greenflow import states
from greenflow.atoms import Task, Times
from greenflow.engines import load_from_detail, load_from_factory
from greenflow.exceptions import EngineStateError, NotFoundError, StorageError
from greenflow.failure import Failure, RemoteFailureError
from greenflow.patterns import LinearFlow
from greenflow.persistence import FlowDetail, LogBook, RetryDetail, TaskDetail, make_owner
from greenflow.storage import TRANSITIONS_META

from .conftest import execute_sql, sql_backend_available

# -- tasks ------------------------------------------------------------------------------------------


class Add(Task):
    """Returns ``x + amount`` (``x`` from the store or the previous task); counts its runs."""

    def __init__(self, name: str, amount: int, runs: list[str], provides: str, requires: str = "x") -> None:
        super().__init__(name, provides=provides, rebind={"x": requires})
        self.amount = amount
        self.runs = runs

    def execute(self, x: int) -> int:
        self.runs.append(self.name)
        return x + self.amount


class Boom(Task):
    def __init__(self, name: str, runs: list[str] | None = None) -> None:
        super().__init__(name)
        self.runs = runs if runs is not None else []

    def execute(self) -> None:
        self.runs.append(self.name)
        raise ValueError(f"{self.name} exploded")


class Remember(Task):
    def __init__(self, name: str, reverted: list[str]) -> None:
        super().__init__(name)
        self.reverted = reverted

    def execute(self) -> str:
        return f"{self.name}-done"

    def revert(self, result: Any, **kwargs: Any) -> str:
        self.reverted.append(self.name)
        return f"{self.name}-undone"


class ReturnsObject(Task):
    def execute(self) -> object:
        return object()


class FlakyTwice(Task):
    """Fails on its first two runs, then returns 'ok'."""

    def __init__(self, name: str, attempts: list[int]) -> None:
        super().__init__(name)
        self.attempts = attempts

    def execute(self) -> str:
        self.attempts.append(1)
        if len(self.attempts) <= 2:
            raise RuntimeError(f"attempt {len(self.attempts)} failed")
        return "ok"


class Gate(Task):
    """Signals it started, then waits until released."""

    def __init__(self, name: str, started: threading.Event, release: threading.Event) -> None:
        super().__init__(name)
        self.started = started
        self.release = release

    def execute(self) -> str:
        self.started.set()
        assert self.release.wait(30)
        return "passed"


class SuspendAfter(Task):
    """Returns its name and asks the engine in ``holder`` to suspend."""

    def __init__(self, name: str, holder: dict[str, Any], runs: list[str]) -> None:
        super().__init__(name, provides=name)
        self.holder = holder
        self.runs = runs

    def execute(self) -> str:
        self.runs.append(self.name)
        self.holder["engine"].suspend()
        return self.name


def _chain(runs: list[str], n: int = 3) -> LinearFlow:
    flow = LinearFlow("chain")
    previous = "x"
    for i in range(1, n + 1):
        flow.add(Add(f"add{i}", i, runs, provides=f"x{i}", requires=previous))
        previous = f"x{i}"
    return flow


def chain_factory(n: int) -> LinearFlow:
    """A module-level factory, so ``load_from_factory`` can record it."""
    return _chain([], n)


def _reload(open_backend: Any, flow_uuid: str) -> FlowDetail:
    return open_backend().get_connection().get_flow_details(flow_uuid)


# -- the Connection API -----------------------------------------------------------------------------


def _sample_book() -> tuple[LogBook, FlowDetail, TaskDetail, RetryDetail]:
    book = LogBook("orders")
    book.meta = {"tenant": "t-1"}
    flow_detail = FlowDetail("ship")
    flow_detail.meta = {"injected": {"order": 42}}
    task = TaskDetail("pack")
    task.state = states.SUCCESS
    task.results = {"box": [1, 2, 3], "label": "fragile"}
    task.version = (1, 0)
    try:
        raise KeyError("no box")
    except KeyError:
        failed = Failure()
    retry = RetryDetail("again")
    retry.state = states.SUCCESS
    retry.results = [(1, {"pack": failed}), (2, {})]
    flow_detail.add(task)
    flow_detail.add(retry)
    book.add(flow_detail)
    return book, flow_detail, task, retry


def test_logbook_round_trips_through_a_reopened_backend(open_backend):
    book, flow_detail, task, retry = _sample_book()
    open_backend().get_connection().save_logbook(book)

    conn = open_backend().get_connection()
    loaded = conn.get_logbook(book.uuid)
    assert (loaded.uuid, loaded.name, loaded.meta) == (book.uuid, "orders", {"tenant": "t-1"})
    assert loaded.created_at
    assert [b.uuid for b in conn.get_logbooks()] == [book.uuid]
    (loaded_flow,) = conn.get_flows_for_book(book.uuid)
    assert (loaded_flow.uuid, loaded_flow.name, loaded_flow.meta) == (
        flow_detail.uuid,
        "ship",
        {"injected": {"order": 42}},
    )
    assert {a.name for a in conn.get_atoms_for_flow(flow_detail.uuid)} == {"pack", "again"}
    loaded_task = conn.get_atom_details(task.uuid)
    assert isinstance(loaded_task, TaskDetail)
    assert (loaded_task.state, loaded_task.results, loaded_task.version) == (
        states.SUCCESS,
        {"box": [1, 2, 3], "label": "fragile"},
        "1.0",  # set as (1, 0): a version is kept as its dotted text
    )
    loaded_retry = conn.get_atom_details(retry.uuid)
    assert isinstance(loaded_retry, RetryDetail)
    assert [r for r, _ in loaded_retry.results] == [1, 2]
    assert loaded_retry.results[0][1]["pack"].check(KeyError)


def test_updates_of_flow_and_atom_details_are_seen_after_reopening(open_backend):
    book, flow_detail, task, _ = _sample_book()
    conn = open_backend().get_connection()
    conn.save_logbook(book)
    task.state = states.REVERTED
    task.revert_results = "unpacked"
    conn.update_atom_details(task)
    flow_detail.state = states.REVERTED
    extra = TaskDetail("label")
    flow_detail.add(extra)
    conn.update_flow_details(flow_detail)

    again = open_backend().get_connection()
    loaded = again.get_flow_details(flow_detail.uuid)
    assert loaded.state == states.REVERTED
    assert {a.name for a in loaded} == {"pack", "again", "label"}
    loaded_task = loaded.find_by_name("pack")
    assert loaded_task is not None
    assert (loaded_task.state, loaded_task.revert_results) == (states.REVERTED, "unpacked")
    assert again.get_atom_details(extra.uuid).name == "label"


def test_updating_records_never_saved_raises_not_found(open_backend):
    book, flow_detail, task, _ = _sample_book()
    conn = open_backend().get_connection()
    with pytest.raises(NotFoundError, match=flow_detail.uuid):
        conn.update_flow_details(flow_detail)
    with pytest.raises(NotFoundError, match=task.uuid):
        conn.update_atom_details(task)
    conn.save_logbook(book)
    conn.update_flow_details(flow_detail)
    conn.update_atom_details(task)
    stray = TaskDetail("stray")
    with pytest.raises(NotFoundError, match=stray.uuid):
        conn.update_atom_details(stray)


def test_a_new_logbook_has_no_update_time_until_saved_again(open_backend):
    book, _, _, _ = _sample_book()
    conn = open_backend().get_connection()
    conn.save_logbook(book)
    assert open_backend().get_connection().get_logbook(book.uuid).updated_at is None
    conn.save_logbook(book)
    assert open_backend().get_connection().get_logbook(book.uuid).updated_at is not None


def test_lazy_reads_leave_out_what_a_record_holds(open_backend):
    book, flow_detail, _, _ = _sample_book()
    open_backend().get_connection().save_logbook(book)
    conn = open_backend().get_connection()
    lazy_book = conn.get_logbook(book.uuid, lazy=True)
    assert (lazy_book.name, lazy_book.meta, len(lazy_book)) == ("orders", {"tenant": "t-1"}, 0)
    assert [len(b) for b in conn.get_logbooks(lazy=True)] == [0]
    lazy_flow = conn.get_flow_details(flow_detail.uuid, lazy=True)
    assert (lazy_flow.name, lazy_flow.meta, len(lazy_flow)) == ("ship", {"injected": {"order": 42}}, 0)
    lazy_flows = conn.get_flows_for_book(book.uuid, lazy=True)
    assert [(f.uuid, len(f)) for f in lazy_flows] == [(flow_detail.uuid, 0)]
    assert [len(f) for f in conn.get_flows_for_book(book.uuid)] == [2]
    assert (len(book), len(flow_detail)) == (1, 2)  # the saved objects are untouched


def test_saving_another_logbook_object_of_a_stored_uuid_adds_its_flows(open_backend):
    book, flow_detail, _, _ = _sample_book()
    open_backend().get_connection().save_logbook(book)
    again = LogBook("orders", book.uuid)
    other = FlowDetail("return")
    again.add(other)
    open_backend().get_connection().save_logbook(again)
    loaded = open_backend().get_connection().get_logbook(book.uuid)
    assert {f.uuid for f in loaded} == {flow_detail.uuid, other.uuid}


def test_two_atom_details_of_one_name_are_both_kept(open_backend):
    book, flow_detail, task, _ = _sample_book()
    conn = open_backend().get_connection()
    conn.save_logbook(book)
    twin = TaskDetail(task.name)
    twin.version = "4.2"
    flow_detail.add(twin)
    conn.update_flow_details(flow_detail)
    loaded = open_backend().get_connection().get_logbook(book.uuid).find(flow_detail.uuid)
    assert loaded is not None
    assert loaded.find(task.uuid) is not None
    found = loaded.find(twin.uuid)
    assert found is not None and found.version == "4.2"


def test_a_flow_that_never_ran_is_stored_without_a_state_and_runs(open_backend):
    book = LogBook("book")
    flow_detail = FlowDetail("chain")
    book.add(flow_detail)
    open_backend().get_connection().save_logbook(book)
    stored = open_backend().get_connection().get_flow_details(flow_detail.uuid)
    assert stored.state is None
    runs: list[str] = []
    engine = greenflow.load(_chain(runs, 2), store={"x": 1}, backend=open_backend(), flow_detail=stored)
    assert engine.storage.get_flow_state() == states.PENDING
    engine.run()
    assert (runs, open_backend().get_connection().get_flow_details(flow_detail.uuid).state) == (
        ["add1", "add2"],
        states.SUCCESS,
    )


def test_destroyed_logbook_is_gone_with_its_details(open_backend):
    book, flow_detail, task, _ = _sample_book()
    conn = open_backend().get_connection()
    conn.save_logbook(book)
    conn.destroy_logbook(book.uuid)
    again = open_backend().get_connection()
    with pytest.raises(NotFoundError, match=book.uuid):
        again.get_logbook(book.uuid)
    with pytest.raises(NotFoundError, match=flow_detail.uuid):
        again.get_flow_details(flow_detail.uuid)
    with pytest.raises(NotFoundError, match=task.uuid):
        again.get_atom_details(task.uuid)
    assert again.get_logbooks() == []


def test_missing_records_raise_not_found_naming_the_uuid(open_backend):
    conn = open_backend().get_connection()
    for get in (conn.get_logbook, conn.get_flow_details, conn.get_atom_details):
        with pytest.raises(NotFoundError, match="nope-0000"):
            get("nope-0000")


def test_validate_and_upgrade_succeed_on_a_ready_store(open_backend):
    conn = open_backend().get_connection()
    conn.upgrade()
    conn.validate()


# -- engine runs, reloaded ---------------------------------------------------------------------------


def test_engine_run_is_recorded_with_every_state_and_result(open_backend):
    runs: list[str] = []
    engine = greenflow.load(_chain(runs), store={"x": 10}, backend=open_backend())
    engine.run()
    assert engine.storage.fetch("x3") == 16

    loaded = _reload(open_backend, engine.storage.flow_uuid)
    assert loaded.state == states.SUCCESS
    assert {a.name: (a.state, a.results) for a in loaded} == {
        "add1": (states.SUCCESS, 11),
        "add2": (states.SUCCESS, 13),
        "add3": (states.SUCCESS, 16),
    }
    assert loaded.meta["injected"] == {"x": 10}, "store= values are persisted when the backend records"


def test_deferred_creation_records_nothing_until_the_run_then_everything(open_backend):
    runs: list[str] = []
    backend = open_backend()
    engine = greenflow.load(_chain(runs), store={"x": 10}, backend=backend, defer_creation=True)
    if callable(getattr(backend, "write_batch", None)):  # group-committing backends defer; others save now
        with pytest.raises(NotFoundError):
            backend.get_connection().get_flow_details(engine.storage.flow_uuid)
    engine.run()

    loaded = _reload(open_backend, engine.storage.flow_uuid)
    assert loaded.state == states.SUCCESS
    assert {a.name: (a.state, a.results) for a in loaded} == {
        "add1": (states.SUCCESS, 11),
        "add2": (states.SUCCESS, 13),
        "add3": (states.SUCCESS, 16),
    }
    assert loaded.meta["injected"] == {"x": 10}, "store= values go out with the deferred records"


def test_failed_run_records_failures_and_reverts(open_backend):
    reverted: list[str] = []
    flow = LinearFlow("fails").add(Remember("first", reverted), Boom("second"))
    backend = open_backend()
    engine = greenflow.load(flow, backend=backend)
    with pytest.raises(ValueError, match="second exploded"):
        engine.run()
    assert reverted == ["first"]

    loaded = _reload(open_backend, engine.storage.flow_uuid)
    assert loaded.state == states.REVERTED
    first, second = loaded.find_by_name("first"), loaded.find_by_name("second")
    assert first is not None and second is not None
    assert (first.state, first.revert_results) == (states.REVERTED, "first-undone")
    assert second.state == states.REVERTED
    assert second.failure is not None
    assert second.failure.check(ValueError)
    assert second.failure.exception_str == "second exploded"
    assert "exploded" in second.failure.traceback_str
    if not backend.writes_through:
        return  # the memory backend keeps the live exception
    # Read back from the store, the exception object is gone: re-raising says what it was.
    with pytest.raises(RemoteFailureError, match="second exploded") as info:
        second.failure.reraise()
    assert info.value.failure.check("ValueError")


def test_suspended_flow_resumes_in_a_new_engine_on_a_reopened_backend(open_backend):
    runs: list[str] = []
    holder: dict[str, Any] = {}
    flow = LinearFlow("suspends").add(
        SuspendAfter("one", holder, runs),
        SuspendAfter("two", holder, runs),
        SuspendAfter("three", holder, runs),
    )
    engine = greenflow.load(flow, backend=open_backend())
    holder["engine"] = engine
    engine.run()
    assert engine.storage.get_flow_state() == states.SUSPENDED
    assert runs == ["one"]

    loaded = _reload(open_backend, engine.storage.flow_uuid)
    assert loaded.state == states.SUSPENDED
    backend = open_backend()
    resumed = greenflow.load(
        flow, flow_detail=backend.get_connection().get_flow_details(loaded.uuid), backend=backend
    )
    holder["engine"] = resumed
    resumed.run()  # suspends again after "two"
    resumed.run()
    assert runs == ["one", "two", "three"]
    final = _reload(open_backend, loaded.uuid)
    assert final.state == states.SUCCESS
    assert {a.name: a.results for a in final} == {"one": "one", "two": "two", "three": "three"}


def test_retry_history_is_recorded(open_backend):
    attempts: list[int] = []
    flow = LinearFlow("retried", retry=Times(5, name="times")).add(FlakyTwice("flaky", attempts))
    engine = greenflow.load(flow, backend=open_backend())
    engine.run()
    assert len(attempts) == 3

    loaded = _reload(open_backend, engine.storage.flow_uuid)
    retry = loaded.find_by_name("times")
    assert isinstance(retry, RetryDetail)
    assert len(retry.results) == 3
    failed = [failures["flaky"] for _, failures in retry.results[:2]]
    assert [f.exception_str for f in failed] == ["attempt 1 failed", "attempt 2 failed"]
    assert retry.results[2][1] == {}
    flaky = loaded.find_by_name("flaky")
    assert flaky is not None and (flaky.state, flaky.results) == (states.SUCCESS, "ok")


def test_every_state_change_is_recorded_with_its_time(open_backend):
    attempts: list[int] = []
    flow = LinearFlow("stamped", retry=Times(5, name="times")).add(FlakyTwice("flaky", attempts))
    backend = open_backend()
    before = time.time()
    engine = greenflow.load(flow, backend=backend)
    engine.run()
    after = time.time()

    loaded = _reload(open_backend, engine.storage.flow_uuid)
    flaky = loaded.find_by_name("flaky")
    assert flaky is not None
    if not backend.writes_through:
        assert TRANSITIONS_META not in flaky.meta, "a backend that records nothing stamps nothing"
        return
    stamps = flaky.meta[TRANSITIONS_META]
    assert [state for state, _ in stamps] == [
        *[states.RUNNING, states.FAILURE, states.REVERTING, states.REVERTED, states.PENDING] * 2,
        states.RUNNING,
        states.SUCCESS,
    ]
    times = [at for _, at in stamps]
    assert times == sorted(times) and before <= times[0] and times[-1] <= after
    flow_states = [state for state, _ in loaded.meta[TRANSITIONS_META]]
    assert flow_states[-2:] == [states.RUNNING, states.SUCCESS]


def test_flow_loaded_from_a_recorded_factory_resumes(open_backend):
    engine = load_from_factory(chain_factory, factory_args=[2], store={"x": 1}, backend=open_backend())
    engine.run()
    backend = open_backend()
    loaded = backend.get_connection().get_flow_details(engine.storage.flow_uuid)
    again = load_from_detail(loaded, backend=backend)
    again.run()  # everything succeeded already: nothing runs again
    assert again.storage.fetch("x2") == 4
    assert again.statistics.atoms_executed == 0


def test_taskflow_injector_detail_gives_injected_values_and_is_not_an_atom(open_backend):
    backend = open_backend()
    book = LogBook("from-taskflow")
    flow_detail = FlowDetail("chain")
    injector = TaskDetail("_TaskFlow_INJECTOR")
    injector.results = {"x": 100}
    flow_detail.add(injector)
    book.add(flow_detail)
    backend.get_connection().save_logbook(book)

    backend = open_backend()
    runs: list[str] = []
    engine = greenflow.load(
        _chain(runs, 2),
        flow_detail=backend.get_connection().get_flow_details(flow_detail.uuid),
        backend=backend,
    )
    engine.run()
    assert engine.storage.fetch("x2") == 103
    assert runs == ["add1", "add2"]
    assert "_TaskFlow_INJECTOR" not in engine.storage.get_atoms_states(["add1", "add2"])
    with pytest.raises(NotFoundError):
        engine.storage.get_atom_state("_TaskFlow_INJECTOR")


# -- claims -----------------------------------------------------------------------------------------


def test_claims_admit_one_owner_at_a_time(open_backend):
    book, flow_detail, _, _ = _sample_book()
    conn = open_backend().get_connection()
    conn.save_logbook(book)
    conn.claim_flow(flow_detail.uuid, "host-a:1:engine-a")
    conn.claim_flow(flow_detail.uuid, "host-a:1:engine-a")  # the holder may claim again
    other = open_backend().get_connection()
    with pytest.raises(StorageError, match="host-a:1:engine-a"):
        other.claim_flow(flow_detail.uuid, "host-b:2:engine-b")
    other.release_flow(flow_detail.uuid, "host-b:2:engine-b")  # not the holder: nothing happens
    with pytest.raises(StorageError, match="host-a:1:engine-a"):
        other.claim_flow(flow_detail.uuid, "host-b:2:engine-b")
    conn.release_flow(flow_detail.uuid, "host-a:1:engine-a")
    other.claim_flow(flow_detail.uuid, "host-b:2:engine-b")
    other.release_flow(flow_detail.uuid, "host-b:2:engine-b")


def test_second_engine_on_a_running_flow_detail_is_refused(open_backend):
    started, release = threading.Event(), threading.Event()
    flow = LinearFlow("gated").add(Gate("gate", started, release))
    first = greenflow.load(flow, backend=open_backend())
    errors: list[BaseException] = []

    def run_first() -> None:
        try:
            first.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert started.wait(30)
        backend = open_backend()
        detail = backend.get_connection().get_flow_details(first.storage.flow_uuid)
        second = greenflow.load(
            LinearFlow("gated").add(Gate("gate", started, release)), flow_detail=detail, backend=backend
        )
        with pytest.raises(EngineStateError) as info:
            second.run()
        message = str(info.value)
        assert "'gated'" in message and first.storage.flow_uuid in message
        assert first.owner in message
    finally:
        release.set()
        thread.join(30)
    assert errors == []
    assert first.storage.get_flow_state() == states.SUCCESS
    # Once the first run has ended its claim is gone: the flow detail can run again.
    second.run()


# -- bad input --------------------------------------------------------------------------------------


def test_result_that_cannot_be_stored_fails_the_atom_naming_it(open_backend):
    reverted: list[str] = []
    backend = open_backend()
    flow = LinearFlow("objects").add(Remember("before", reverted), ReturnsObject("makes_object"))
    engine = greenflow.load(flow, backend=backend)
    if not backend.writes_through:  # the memory backend keeps live objects: anything goes
        engine.run()
        return
    with pytest.raises(StorageError) as info:
        engine.run()
    message = str(info.value)
    assert "atom 'makes_object' in flow 'objects'" in message
    assert "JSON" in message
    assert reverted == ["before"]
    loaded = _reload(open_backend, engine.storage.flow_uuid)
    assert loaded.state == states.REVERTED
    failed = loaded.find_by_name("makes_object")
    assert failed is not None and failed.failure is not None
    assert failed.failure.check(StorageError)


def test_stored_value_that_cannot_be_stored_is_refused_at_load(open_backend):
    backend = open_backend()
    if not backend.writes_through:
        pytest.skip("the memory backend stores live objects")
    with pytest.raises(StorageError, match="injected as 'x'"):
        greenflow.load(_chain([], 1), store={"x": {1, 2}}, backend=backend)


def _corrupt_atom(backend_kind: str, backend: Any, backend_url: str, atom_uuid: str) -> None:
    """Damage one stored atom detail the way a bad disk or a bad manual edit would."""
    if backend_kind == "dir":
        Path(backend.path, "atoms", f"{atom_uuid}.json").write_text('{"kind": "task", "name": ')
        return
    if backend_kind == "zookeeper":
        backend._zk().set(f"{backend.path}/atoms/{atom_uuid}", b'{"kind": "task", "name": ')
        return
    execute_sql(
        backend_url, "UPDATE atomdetails SET state = 'NOT_A_STATE' WHERE uuid = :uuid", uuid=atom_uuid
    )


def test_corrupt_record_raises_storage_error_naming_it(backend_kind, backend_url, open_backend):
    if backend_kind == "memory":
        pytest.skip("the memory backend stores live objects: nothing to corrupt")
    book, flow_detail, task, _ = _sample_book()
    backend = open_backend()
    backend.get_connection().save_logbook(book)
    _corrupt_atom(backend_kind, backend, backend_url, task.uuid)
    conn = open_backend().get_connection()
    with pytest.raises(StorageError, match=task.uuid):
        conn.get_atom_details(task.uuid)
    with pytest.raises(StorageError, match=task.uuid):
        conn.get_flow_details(flow_detail.uuid)
    with pytest.raises(StorageError, match=task.uuid):
        greenflow.load(_chain([], 1), flow_detail=conn.get_flow_details(flow_detail.uuid), backend=backend)


def _unreachable_urls() -> list[Any]:
    needs_sql = pytest.mark.skipif(not sql_backend_available(), reason="the SQL backend is not available")
    return [
        pytest.param("postgresql://postgres@127.0.0.1:1/test", marks=needs_sql, id="postgresql"),
        pytest.param("mysql+pymysql://root@127.0.0.1:1/test", marks=needs_sql, id="mariadb"),
        pytest.param("sqlite:///{tmp}/no/such/dir/greenflow.db", marks=needs_sql, id="sqlite"),
        pytest.param("dir://{tmp}/a-file/store", id="dir"),
        pytest.param(
            "zookeeper://127.0.0.1:1/greenflow?timeout=0.5",
            marks=pytest.mark.skipif(not importlib.util.find_spec("kazoo"), reason="kazoo is not installed"),
            id="zookeeper",
        ),
    ]


@pytest.mark.parametrize("url", _unreachable_urls())
def test_unreachable_store_is_reported_at_load_not_mid_run(url, tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    url = url.format(tmp=tmp_path)
    runs: list[str] = []
    with pytest.raises(StorageError) as info:
        greenflow.load(_chain(runs, 1), store={"x": 1}, backend=url)
    assert runs == []
    message = str(info.value)
    assert "127.0.0.1" in message or str(tmp_path) in message, message


def test_claim_left_by_an_exited_process_of_this_host_is_broken(open_backend):
    dead_owner = make_owner("crashed-engine").replace(f":{os.getpid()}:", f":{_exited_pid()}:")
    runs: list[str] = []
    backend = open_backend()
    engine = greenflow.load(_chain(runs, 2), store={"x": 0}, backend=backend)
    backend.get_connection().claim_flow(engine.storage.flow_uuid, dead_owner)
    engine.run()
    assert runs == ["add1", "add2"]
    # A live owner's claim is never broken.
    live = open_backend().get_connection()
    live.claim_flow(engine.storage.flow_uuid, "other-host:1:engine")
    with pytest.raises(EngineStateError, match="other-host:1:engine"):
        engine.run()


def _exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_run_many_records_every_flow_in_the_backend(open_backend):
    """run_many(backend=...) persists each engine's run; a fresh backend object reads them back."""
    from greenflow import LinearFlow, Task, run_many

    class Double(Task):
        def execute(self, x):
            return 2 * x

    flows = ((LinearFlow(f"many-{i}").add(Double("d", provides="y")), {"x": i}) for i in range(5))
    summary = run_many(flows, backend=open_backend(), keep_engines=True, concurrency=3)
    assert summary.succeeded == 5
    conn = open_backend().get_connection()
    for outcome in summary.outcomes:
        flow_uuid = outcome.engine.storage.flow_uuid
        assert conn.get_flow_details(flow_uuid).state == "SUCCESS"
        atoms = {a.name: a for a in conn.get_atoms_for_flow(flow_uuid)}
        assert atoms["d"].state == "SUCCESS"
        assert atoms["d"].results == 2 * outcome.index


# -- stale loads and retried runs -------------------------------------------------------------------


def _three_adds(runs: list[str]) -> LinearFlow:
    return LinearFlow("stale").add(
        Add("t1", 1, runs, provides="a"),
        Add("t2", 10, runs, provides="b", requires="a"),
        Add("t3", 100, runs, provides="c", requires="b"),
    )


def test_an_engine_loaded_before_another_finished_the_flow_runs_nothing_again(open_backend):
    runs: list[str] = []
    first = greenflow.load(_three_adds(runs), store={"x": 0}, backend=open_backend())
    first.prepare()
    backend = open_backend()
    detail = backend.get_connection().get_flow_details(first.storage.flow_uuid)
    stale = greenflow.load(_three_adds(runs), flow_detail=detail, backend=backend)
    stale.prepare()  # its records now say: nothing ran yet
    first.run()
    assert runs == ["t1", "t2", "t3"]
    stale.run()
    assert runs == ["t1", "t2", "t3"], "a finished atom ran again"
    assert stale.storage.fetch("c") == 111
    assert _reload(open_backend, first.storage.flow_uuid).state == states.SUCCESS


def test_a_result_with_non_string_keys_fails_its_atom_instead_of_changing_type(backend_kind, open_backend):
    if backend_kind == "memory":
        pytest.skip("the memory backend keeps live objects: any key reads back as it was")

    class IntKeys(Task):
        def execute(self) -> dict[int, str]:
            return {1: "a"}

    engine = greenflow.load(LinearFlow("keys").add(IntKeys("ints")), backend=open_backend())
    with pytest.raises(StorageError, match=r"dict key 1 is not a string"):
        engine.run()


def test_a_record_with_an_unknown_state_is_refused_without_echoing_it_whole(tmp_path):
    import json as _json

    backend = greenflow.persistence.fetch_backend(f"dir://{tmp_path}/store")
    engine = greenflow.load(
        LinearFlow("f").add(Add("a", 1, [], provides="y")), store={"x": 1}, backend=backend
    )
    engine.run()
    atom_file = next((tmp_path / "store").rglob("atoms/*.json"))
    data = _json.loads(atom_file.read_text())
    data.update(state="BOGUS", results="r" * 1_000_000)
    atom_file.write_text(_json.dumps(data))
    with pytest.raises(StorageError) as info:
        backend.get_connection().get_flow_details(engine.storage.flow_uuid)
    assert "state 'BOGUS'" in str(info.value) and len(str(info.value)) < 2000

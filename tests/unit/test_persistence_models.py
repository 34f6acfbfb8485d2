"""The logbook model: JSON round trips, lazy uuids, corrupt records, backend lookup."""

from __future__ import annotations

import json
from typing import Any

import pytest

from greenflow import states
from greenflow.exceptions import InvalidOptionError, NotFoundError, StorageError
from greenflow.failure import Failure
from greenflow.persistence import (
    MODEL_FORMAT_VERSION,
    AtomDetail,
    FlowDetail,
    LogBook,
    MemoryBackend,
    RetryDetail,
    TaskDetail,
    fetch_backend,
)


def _failure(message: str) -> Failure:
    try:
        raise RuntimeError(message)
    except RuntimeError:
        return Failure()


def _through_json(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data))


def _book() -> LogBook:
    book = LogBook("book")
    book.meta = {"owner": "ops"}
    flow = FlowDetail("create_vm")
    flow.state = states.REVERTED
    flow.meta = {"injected": {"image": "cirros"}}
    task = TaskDetail("boot")
    task.state = states.REVERTED
    task.intention = states.REVERT
    task.results = {"id": "vm-1", "ips": ["10.0.0.1"]}
    task.failure = _failure("boot failed")
    task.revert_results = "cleaned"
    task.revert_failure = _failure("cleanup failed")
    task.meta = {"progress": 1.0}
    task.version = (1, 2)
    retry = RetryDetail("again")
    retry.results = [(1, {"boot": _failure("attempt 1")}), (2, {})]
    flow.add(task)
    flow.add(retry)
    book.add(flow)
    return book


# -- round trips -------------------------------------------------------------------------------------


def test_logbook_round_trips_through_json():
    book = _book()
    data = book.to_dict()
    rebuilt = LogBook.from_dict(_through_json(data))
    assert rebuilt.to_dict() == _through_json(data)
    assert (rebuilt.uuid, rebuilt.name, rebuilt.meta) == (book.uuid, "book", {"owner": "ops"})
    assert rebuilt.created_at == book.created_at


def test_flow_detail_round_trip_keeps_atoms_states_and_meta():
    book = _book()
    (flow,) = book
    rebuilt = LogBook.from_dict(_through_json(book.to_dict())).find(flow.uuid)
    assert rebuilt is not None
    assert (rebuilt.name, rebuilt.state, rebuilt.meta) == ("create_vm", states.REVERTED, flow.meta)
    assert [a.name for a in rebuilt] == ["boot", "again"]
    assert len(rebuilt) == 2


def test_task_detail_round_trip_keeps_results_failures_and_version():
    book = _book()
    (flow,) = book
    original = flow.find_by_name("boot")
    (rebuilt_flow,) = LogBook.from_dict(_through_json(book.to_dict()))
    task = rebuilt_flow.find_by_name("boot")
    assert isinstance(task, TaskDetail)
    assert task.uuid == original.uuid
    assert (task.state, task.intention) == (states.REVERTED, states.REVERT)
    assert task.results == {"id": "vm-1", "ips": ["10.0.0.1"]}
    assert task.failure == original.failure
    assert task.revert_results == "cleaned"
    assert task.revert_failure == original.revert_failure
    assert task.meta == {"progress": 1.0}
    assert task.version == "1.2"  # set as (1, 2): records keep a version as its dotted text


def test_retry_detail_round_trip_keeps_its_history_of_failures():
    book = _book()
    (rebuilt_flow,) = LogBook.from_dict(_through_json(book.to_dict()))
    retry = rebuilt_flow.find_by_name("again")
    assert isinstance(retry, RetryDetail)
    assert [r for r, _ in retry.results] == [1, 2]
    first_failures = retry.results[0][1]
    assert isinstance(first_failures["boot"], Failure)
    assert first_failures["boot"].exception_str == "attempt 1"
    assert retry.results[1][1] == {}


def test_atom_detail_from_dict_picks_the_kind():
    assert isinstance(AtomDetail.from_dict(_through_json(TaskDetail("t").to_dict())), TaskDetail)
    assert isinstance(AtomDetail.from_dict(_through_json(RetryDetail("r").to_dict())), RetryDetail)


def test_dicts_carry_the_format_version():
    book = _book()
    data = book.to_dict()
    assert data["format"] == MODEL_FORMAT_VERSION
    assert data["flows"][0]["format"] == MODEL_FORMAT_VERSION
    assert data["flows"][0]["atoms"][0]["format"] == MODEL_FORMAT_VERSION


# -- uuids ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: LogBook("b"), lambda: FlowDetail("f"), lambda: TaskDetail("t")])
def test_uuid_is_made_lazily_and_stable_once_read(make):
    item = make()
    first = item.uuid
    assert isinstance(first, str) and len(first) == 36
    assert item.uuid == first
    assert item.to_dict()["uuid"] == first


def test_given_uuid_is_kept():
    assert FlowDetail("f", uuid="fixed").uuid == "fixed"


def test_each_detail_gets_its_own_uuid():
    assert TaskDetail("a").uuid != TaskDetail("a").uuid


def test_flow_detail_finds_atoms_by_uuid_and_name():
    flow = FlowDetail("f")
    task = TaskDetail("t")
    flow.add(task)
    assert flow.find(task.uuid) is task
    assert flow.find_by_name("t") is task
    assert flow.find("missing") is None
    assert flow.find_by_name("missing") is None


def test_flow_detail_keeps_two_records_of_one_name_and_replaces_one_of_the_same_uuid():
    flow = FlowDetail("f")
    first, second = TaskDetail("t", "uuid-1"), TaskDetail("t", "uuid-2")
    flow.add(first)
    flow.add(second)
    assert (len(flow), flow.find("uuid-1"), flow.find("uuid-2")) == (2, first, second)
    assert flow.find_by_name("t") is second
    again = TaskDetail("t", "uuid-1")
    flow.add(again)
    assert (len(flow), flow.find("uuid-1"), flow.find_by_name("t")) == (2, again, again)
    assert {d.uuid for d in FlowDetail.from_dict(flow.to_dict())} == {"uuid-1", "uuid-2"}
    flow.add(again)  # adding the same detail twice changes nothing
    assert sorted(d.uuid for d in flow) == ["uuid-1", "uuid-2"]


@pytest.mark.parametrize(("given", "kept"), [((1, 0), "1.0"), ([2, 1], "2.1"), ("4.2", "4.2"), (None, None)])
def test_atom_detail_version_is_kept_as_dotted_text(given, kept):
    task = TaskDetail("t")
    task.version = given
    assert task.version == kept
    assert AtomDetail.from_dict(task.to_dict()).version == kept
    assert AtomDetail.from_dict({**task.to_dict(), "version": [3, 0]}).version == "3.0"  # older records


# -- reset ------------------------------------------------------------------------------------------


def test_task_detail_reset_forgets_results_and_failures():
    task = TaskDetail("t")
    task.state, task.intention, task.results, task.failure = states.FAILURE, states.REVERT, 1, _failure("x")
    task.reset()
    assert (task.state, task.intention, task.results, task.failure) == (
        states.PENDING,
        states.EXECUTE,
        None,
        None,
    )


def test_retry_detail_reset_keeps_its_history():
    retry = RetryDetail("r")
    retry.results = [(1, {})]
    retry.reset()
    assert retry.results == [(1, {})]
    assert retry.state == states.PENDING


# -- corrupt records ---------------------------------------------------------------------------------


def _flow_record(**atom: Any) -> dict[str, Any]:
    base = {"kind": "task", "name": "t", "uuid": "a-1", "state": "PENDING", "intention": "EXECUTE"}
    return {"name": "f", "uuid": "f-1", "state": "PENDING", "atoms": [{**base, **atom}]}


@pytest.mark.parametrize(
    ("parse", "record", "expected"),
    [
        (LogBook.from_dict, {}, "not a logbook record"),
        (LogBook.from_dict, {"name": "b"}, "'uuid'"),
        (LogBook.from_dict, 5, "not a logbook record"),
        (LogBook.from_dict, {"name": "b", "uuid": "u", "flows": [{"name": "f"}]}, "not a flow detail record"),
        (FlowDetail.from_dict, {"name": "f", "uuid": "u"}, "'state'"),
        (FlowDetail.from_dict, _flow_record(kind="bogus"), "not an atom detail record"),
        (FlowDetail.from_dict, _flow_record(failure={"exception_str": "x"}), "not an atom detail record"),
        (AtomDetail.from_dict, {"kind": "task", "name": "t"}, "'uuid'"),
        (
            AtomDetail.from_dict,
            {
                "kind": "task",
                "name": "t",
                "uuid": "u",
                "state": "PENDING",
                "intention": "EXECUTE",
                "failure": 5,
            },
            "not an atom detail record",
        ),
    ],
)
def test_corrupt_records_raise_storage_error_showing_the_record(parse, record, expected):
    with pytest.raises(StorageError) as info:
        parse(record)
    assert expected in str(info.value)


@pytest.mark.parametrize("results", [[[1]], [[1, {"boot": {"exception_str": "x"}}]], [5], "abc"])
def test_corrupt_retry_history_raises_storage_error(results):
    record = _flow_record(kind="retry", results=results)["atoms"][0]
    with pytest.raises(StorageError, match="not an atom detail record"):
        AtomDetail.from_dict(record)


@pytest.mark.parametrize(
    ("parse", "record"),
    [
        (LogBook.from_dict, {"format": MODEL_FORMAT_VERSION + 1, "name": "b", "uuid": "u"}),
        (
            FlowDetail.from_dict,
            {"format": MODEL_FORMAT_VERSION + 1, "name": "f", "uuid": "u", "state": "PENDING"},
        ),
        (AtomDetail.from_dict, {**_flow_record()["atoms"][0], "format": MODEL_FORMAT_VERSION + 1}),
    ],
)
def test_records_of_another_format_version_are_rejected(parse, record):
    with pytest.raises(StorageError, match=f"format version {MODEL_FORMAT_VERSION + 1}"):
        parse(record)


def test_a_new_flow_detail_holds_no_state_and_keeps_none_through_its_record():
    flow = FlowDetail("f")
    assert flow.state is None
    assert FlowDetail.from_dict(flow.to_dict()).state is None
    flow.state = states.SUCCESS
    assert FlowDetail.from_dict(flow.to_dict()).state == states.SUCCESS


def test_pformat_shows_a_logbook_with_its_flows_and_atoms_indented():
    book = LogBook("orders", "book-1")
    book.created_at = "2026-01-01T00:00:00+00:00"
    flow = FlowDetail("ship", "flow-1")
    flow.state = states.SUCCESS
    task = TaskDetail("pack", "task-1")
    task.state, task.version, task.results = states.SUCCESS, (1, 0), {"box": 3}
    task.meta["progress"] = 0.5
    flow.add(task)
    book.add(flow)
    assert book.pformat().splitlines() == [
        "LogBook: 'orders'",
        " - uuid = book-1",
        " - created_at = 2026-01-01T00:00:00+00:00",
        " FlowDetail: 'ship'",
        "  - uuid = flow-1",
        "  - state = SUCCESS",
        "  TaskDetail: 'pack'",
        "   - uuid = task-1",
        "   - state = SUCCESS",
        "   - intention = EXECUTE",
        "   - version = 1.0",
        "   - results = {'box': 3}",
        "   - failure = False",
        "   - meta:",
        "     + progress = 50.00%",
    ]
    assert flow.pformat(indent=2, linesep="|").startswith("  FlowDetail: 'ship'|   - uuid = flow-1")


def test_repr_names_the_record():
    flow = FlowDetail("create_vm")
    flow.add(TaskDetail("boot"))
    assert repr(flow) == "FlowDetail('create_vm', state=None, atoms=1)"  # no run recorded a state yet
    assert repr(TaskDetail("boot")) == "TaskDetail('boot', state=PENDING, intention=EXECUTE)"


# -- backends ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("conf", ["memory://", "memory", "memory:", {"connection": "memory://"}])
def test_fetch_backend_builds_the_memory_backend(conf):
    backend = fetch_backend(conf)
    assert isinstance(backend, MemoryBackend)
    assert backend.conf["connection"] == (conf if isinstance(conf, str) else conf["connection"])


def test_fetch_backend_unknown_scheme_lists_the_known_ones():
    with pytest.raises(InvalidOptionError) as info:
        fetch_backend("mongodb://db/greenflow")
    message = str(info.value)
    assert "unknown persistence backend 'mongodb'" in message
    assert "'mongodb://db/greenflow'" in message
    assert "'memory'" in message


@pytest.mark.parametrize("bad", [5, {"conn": "memory://"}, {"connection": 5}, None])
def test_fetch_backend_rejects_a_malformed_configuration(bad):
    with pytest.raises(InvalidOptionError) as info:
        fetch_backend(bad)
    assert "a persistence backend is named by a URL or a dict {'connection': URL}" in str(info.value)
    assert repr(bad) in str(info.value)


def test_memory_backend_stores_and_destroys_logbooks():
    backend = MemoryBackend()
    book = backend.get_connection().save_logbook(LogBook("b"))
    assert backend.get_logbook(book.uuid) is book
    assert backend.get_logbooks() == [book]
    backend.destroy_logbook(book.uuid)
    with pytest.raises(NotFoundError, match=f"no logbook with uuid '{book.uuid}'"):
        backend.get_logbook(book.uuid)
    with pytest.raises(NotFoundError):
        backend.destroy_logbook(book.uuid)


def test_update_takes_the_fields_of_the_same_record_as_a_backend_returned_it():
    fd = FlowDetail("f", "fd-1")
    stored = FlowDetail("f", "fd-1")
    stored.state = "SUCCESS"
    stored.meta = {"k": 1}
    td = TaskDetail("boot", "td-1")
    stored.add(td)
    assert fd.update(stored) is fd
    assert (fd.state, fd.meta, fd.find_by_name("boot")) == ("SUCCESS", {"k": 1}, td)
    mine = TaskDetail("boot", "td-1")
    td.state, td.results = "SUCCESS", 17
    assert mine.update(td) is mine
    assert (mine.state, mine.results) == ("SUCCESS", 17)


def test_update_refuses_another_record():
    with pytest.raises(InvalidOptionError, match="not the same record"):
        FlowDetail("f", "fd-1").update(FlowDetail("f", "fd-2"))
    with pytest.raises(InvalidOptionError, match="not the same record"):
        TaskDetail("a", "1").update(RetryDetail("a", "1"))

"""The group-commit contract of every backend with ``write_batch``: directory, SQLite, PostgreSQL, MariaDB.

A round is a list of ``WriteGroup``s (one engine's pending records each);
``write_batch`` returns one error (or ``None``) per group. These tests build
rounds by hand, with the rows the backend itself makes (``book_rows``,
``atom_row``, ``flow_row``), and read the result back through a new backend
object, so they check what is stored, not what the writer believes.
"""

from __future__ import annotations

from typing import Any

import pytest

from greenflow import states
from greenflow.exceptions import StorageError
from greenflow.persistence import fetch_backend
from greenflow.persistence._claims import make_owner
from greenflow.persistence._models import FlowDetail, LogBook, TaskDetail
from greenflow.persistence._writer import WriteGroup

from .conftest import backend_url_for


@pytest.fixture(params=["dir", "sqlite", "postgresql", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """A fresh store: ``(backend, reopen)``; ``reopen()`` gives a new backend object on the same records."""
    url = backend_url_for(request.param, request, tmp_path)
    opened: list[Any] = []

    def reopen() -> Any:
        backend = fetch_backend(url)
        opened.append(backend)
        return backend

    backend = reopen()
    backend.get_connection().upgrade()
    backend.get_connection().clear_all()
    assert callable(getattr(backend, "write_batch", None))
    yield backend, reopen
    for b in opened:
        b.close()


def _book(name: str, atoms: int = 2) -> tuple[LogBook, FlowDetail]:
    book = LogBook(name)
    detail = FlowDetail(name)
    for k in range(atoms):
        detail.add(TaskDetail(f"t{k}"))
    book.add(detail)
    return book, detail


def _created(backend: Any, name: str, owner: str) -> tuple[WriteGroup, FlowDetail]:
    book, detail = _book(name)
    group = WriteGroup(detail.uuid)
    group.create = backend.book_rows(book)
    group.claim = (detail.uuid, owner)
    return group, detail


def test_a_round_creates_claims_and_records_many_flows_at_once(store: Any) -> None:
    backend, reopen = store
    owner = make_owner()
    groups, details = zip(*(_created(backend, f"f{i}", owner) for i in range(5)), strict=True)
    assert backend.write_batch(list(groups)) == [None] * 5
    # The next round: every flow RUNNING, its first atom SUCCESS with a result.
    second = []
    for detail in details:
        detail.state = states.RUNNING
        atom = detail.find_by_name("t0")
        atom.state, atom.results = states.SUCCESS, {"value": detail.name}
        group = WriteGroup(detail.uuid, {atom.uuid: backend.atom_row(atom)})
        group.flows[detail.uuid] = backend.flow_row(detail)
        second.append(group)
    assert backend.write_batch(second) == [None] * 5
    conn = reopen().get_connection()
    for detail in details:
        stored = conn.get_flow_details(detail.uuid)
        assert stored.state == states.RUNNING
        assert {a.name: (a.state, a.results) for a in stored} == {
            "t0": (states.SUCCESS, {"value": detail.name}),
            "t1": (states.PENDING, None),
        }
        assert conn.get_claim(detail.uuid) == owner


def test_a_refused_claim_fails_its_own_group_only_and_writes_none_of_its_rows(store: Any) -> None:
    backend, reopen = store
    holder, other = make_owner("holder"), make_owner("other")
    held_group, held = _created(backend, "held", holder)
    assert backend.write_batch([held_group]) == [None]

    atom = held.find_by_name("t0")
    atom.state = states.RUNNING
    refused = WriteGroup(held.uuid, {atom.uuid: backend.atom_row(atom)}, claim=(held.uuid, other))
    fresh_group, fresh = _created(backend, "fresh", other)
    errors = backend.write_batch([refused, fresh_group])
    assert isinstance(errors[0], StorageError) and holder in str(errors[0])
    assert errors[1] is None
    conn = reopen().get_connection()
    assert conn.get_claim(held.uuid) == holder
    assert conn.get_flow_details(held.uuid).find_by_name("t0").state == states.PENDING  # not written
    assert conn.get_claim(fresh.uuid) == other
    assert sorted(a.name for a in conn.get_flow_details(fresh.uuid)) == ["t0", "t1"]


def test_a_granted_claim_returns_the_stored_record_and_a_release_drops_it(store: Any) -> None:
    backend, reopen = store
    first, second = make_owner("first"), make_owner("second")
    group, detail = _created(backend, "flow", first)
    assert backend.write_batch([group]) == [None]
    atom = detail.find_by_name("t1")
    atom.state, atom.results = states.SUCCESS, 7
    done = WriteGroup(detail.uuid, {atom.uuid: backend.atom_row(atom)}, release=(detail.uuid, first))
    assert backend.write_batch([done]) == [None]
    assert reopen().get_connection().get_claim(detail.uuid) is None

    again = WriteGroup(detail.uuid, claim=(detail.uuid, second))
    assert backend.write_batch([again]) == [None]
    claimed = again.claimed
    assert isinstance(claimed, FlowDetail) and claimed.uuid == detail.uuid
    assert {a.name: (a.state, a.results) for a in claimed} == {
        "t0": (states.PENDING, None),
        "t1": (states.SUCCESS, 7),
    }
    # A release by someone who does not hold the claim leaves it.
    assert backend.write_batch([WriteGroup(detail.uuid, release=(detail.uuid, first))]) == [None]
    assert reopen().get_connection().get_claim(detail.uuid) == second


def test_dir_a_record_that_is_not_json_fails_its_group_only(tmp_path: Any) -> None:
    backend = fetch_backend(f"dir://{tmp_path}/store")
    owner = make_owner()
    good, good_detail = _created(backend, "good", owner)
    bad, bad_detail = _created(backend, "bad", owner)
    bad.create["atoms"][0][1]["results"] = {1, 2}  # a set: no JSON form
    errors = backend.write_batch([bad, good])
    assert isinstance(errors[0], StorageError) and "JSON" in str(errors[0])
    assert errors[1] is None
    conn = fetch_backend(f"dir://{tmp_path}/store").get_connection()
    assert sorted(a.name for a in conn.get_flow_details(good_detail.uuid)) == ["t0", "t1"]
    with pytest.raises(Exception, match="no flow detail"):
        conn.get_flow_details(bad_detail.uuid)
    assert conn.get_claim(bad_detail.uuid) is None
    leftovers = [p.name for p in (tmp_path / "store").rglob(".tmp-*")]
    assert leftovers == []  # the failed group's staged files are gone


def test_the_writer_bounds_each_round_and_rings_every_ticket_once_written(store: Any) -> None:
    # Groups queued while a round is written wait for the next ones, at most MAX_ROUND_GROUPS
    # each, oldest first: the making of a round's statements keeps the hub's thread that long.
    import threading

    from greenflow.hubs import get_hub
    from greenflow.persistence._writer import MAX_ROUND_GROUPS, GroupWriter

    backend, reopen = store
    owner = make_owner()
    rounds: list[list[str]] = []
    queued = threading.Event()

    class Counting:
        """The real backend, its rounds counted; the first round waits until every group is queued."""

        blocks_hub = False

        def write_batch(self, groups: list[WriteGroup]) -> list[BaseException | None]:
            rounds.append([g.flow_uuid for g in groups])
            if len(rounds) == 1:
                assert queued.wait(30), "the groups were never all queued"
            return backend.write_batch(groups)  # type: ignore[no-any-return]

    total = 2 * MAX_ROUND_GROUPS + 50
    writer = GroupWriter(Counting(), get_hub("threading"))  # type: ignore[arg-type]
    made = [_created(backend, f"w{i}", owner) for i in range(total)]
    tickets = [writer.submit(group) for group, _ in made]
    queued.set()
    for ticket in tickets:
        ticket.wait(get_hub("threading"))
    # (The first round may take one group or, if the writer started late, a full round.)
    assert len(rounds) >= 3 and all(len(r) <= MAX_ROUND_GROUPS for r in rounds)
    assert all(len(r) == MAX_ROUND_GROUPS for r in rounds[1:-1])
    assert [uuid for r in rounds for uuid in r] == [detail.uuid for _, detail in made]  # oldest first
    conn = reopen().get_connection()
    assert all(conn.get_claim(detail.uuid) == owner for _, detail in made)


def test_uuids_given_by_the_caller_are_stored_as_given_even_with_quotes(store: Any) -> None:
    # A uuid is the caller's text: rows that travel as JSON (PostgreSQL) must quote it.
    backend, reopen = store
    book = LogBook("quoted")
    detail = FlowDetail("quoted", uuid='flow "one"')
    atom = TaskDetail("t0", uuid='atom \\ "one"')
    detail.add(atom)
    book.add(detail)
    group = WriteGroup(detail.uuid)
    group.create = backend.book_rows(book)
    assert backend.write_batch([group]) == [None]
    atom.state, atom.results = states.SUCCESS, "done"
    assert backend.write_batch([WriteGroup(detail.uuid, {atom.uuid: backend.atom_row(atom)})]) == [None]
    again = reopen().get_connection().get_flow_details(detail.uuid)
    stored = again.find_by_name("t0")
    assert (stored.uuid, stored.state, stored.results) == (atom.uuid, states.SUCCESS, "done")

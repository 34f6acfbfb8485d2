"""Atomic fencing in the store: a write shows its job's token, and the store refuses it, in the write's own
transaction, once a higher token has passed the job's fence (SQLite, PostgreSQL, MariaDB, directory,
ZooKeeper).

These are the store's half of fenced claims: the jobboard hands out growing tokens, the conductor passes the
job's fence before it reads the job's records, and from then on nothing an earlier holder writes lands.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from greenflow import states
from greenflow.exceptions import ClaimLostError, StaleFenceError
from greenflow.jobs import FencedBackend, Lease, jobboard
from greenflow.persistence import fetch_backend
from greenflow.persistence._models import FlowDetail, LogBook, TaskDetail

from .conftest import backend_url_for

pytestmark = pytest.mark.timeout(60)


def _stored_book(url: str, name: str, clear: bool = False) -> tuple[Any, LogBook, FlowDetail, TaskDetail]:
    """A backend on ``url`` (schema made, emptied first if ``clear``) holding a saved logbook of one flow
    of one task."""
    backend = fetch_backend(url)
    backend.get_connection().upgrade()
    if clear:
        backend.get_connection().clear_all()
    book, flow, task = LogBook(name), FlowDetail("f"), TaskDetail("t")
    flow.add(task)
    book.add(flow)
    backend.get_connection().save_logbook(book)
    return backend, book, flow, task


@pytest.fixture(params=["dir", "sqlite", "postgresql", "mariadb", "zookeeper"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """A fresh store holding one logbook with one flow of one task: ``(backend, url, book, flow, task)``."""
    url = backend_url_for(request.param, request, tmp_path)
    backend, book, flow, task = _stored_book(url, "fenced", clear=True)
    yield backend, url, book, flow, task
    backend.close()


def _stored_state(url: str, task: TaskDetail) -> str | None:
    other = fetch_backend(url)
    try:
        return other.get_connection().get_atom_details(task.uuid).state
    finally:
        other.close()


def test_a_higher_token_shuts_out_every_write_of_a_lower_one(store: Any) -> None:
    backend, url, book, flow, task = store
    fence = f"job-{uuid.uuid4().hex[:8]}"
    old = backend.get_connection().fenced(fence, 5)
    task.state = states.RUNNING
    old.update_atom_details(task)  # the first holder writes
    new = backend.get_connection().fenced(fence, 7)
    new.pass_fence()  # the next holder takes over, before reading anything
    task.state = states.SUCCESS
    with pytest.raises(StaleFenceError, match=rf"fence {fence} was passed by token 7.*holds 5") as caught:
        old.update_atom_details(task)
    assert (caught.value.fence, caught.value.token, caught.value.current) == (fence, 5, 7)
    for write in (lambda: old.update_flow_details(flow), lambda: old.save_logbook(book)):
        with pytest.raises(StaleFenceError):
            write()
    assert _stored_state(url, task) == states.RUNNING  # nothing of the refused writes was stored
    new.update_atom_details(task)  # the holder writes, again and again
    new.update_atom_details(task)
    assert _stored_state(url, task) == states.SUCCESS
    with pytest.raises(StaleFenceError):
        backend.get_connection().fenced(fence, 6).pass_fence()  # tokens never go back
    backend.get_connection().fenced(f"{fence}-other", 1).pass_fence()  # fences are per job


def test_a_refused_claim_of_the_flow_leaves_the_claims_alone(store: Any) -> None:
    backend, _url, _book, flow, _task = store
    fence = f"job-{uuid.uuid4().hex[:8]}"
    backend.get_connection().fenced(fence, 3).pass_fence()
    stale = backend.get_connection().fenced(fence, 2)
    with pytest.raises(StaleFenceError):
        stale.claim_flow(flow.uuid, "stale-owner")
    assert backend.get_connection().get_claim(flow.uuid) is None


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_the_check_and_the_write_are_one_transaction(
    kind: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    """A stale write racing the takeover waits for it and is then refused, never written after it."""
    url = backend_url_for(kind, request, tmp_path)
    backend, _book, _flow, task = _stored_book(url, "race")
    fence = f"job-{uuid.uuid4().hex[:8]}"
    old = backend.get_connection().fenced(fence, 10)
    old.pass_fence()
    # The new holder's takeover, held open: its row lock on the fence stands until it commits.
    raw = backend.engine.connect()
    tx = raw.begin()
    raw.execute(sa.text("UPDATE greenflow_fences SET token = 11 WHERE name = :n"), {"n": fence})
    outcome: list[BaseException | None] = []

    def stale_write() -> None:
        task.state = states.SUCCESS
        try:
            old.update_atom_details(task)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    writer = threading.Thread(target=stale_write)
    writer.start()
    time.sleep(0.5)
    assert not outcome, "the stale write did not wait for the takeover holding the fence"
    tx.commit()
    raw.close()
    writer.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], StaleFenceError), outcome
    assert _stored_state(url, task) != states.SUCCESS
    backend.close()


@pytest.mark.parametrize("kind", ["sqlite", "zookeeper"])
def test_a_conductor_lease_is_refused_by_the_store_once_a_later_claim_entered(
    kind: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    """The store refuses the earlier holder even while the board cannot tell it (no board call is made)."""
    url = backend_url_for(kind, request, tmp_path)
    backend, book, flow, task = _stored_book(url, "b")
    board_url = f"sqlite:///{tmp_path}/jobs.db"
    with jobboard(f"board-{uuid.uuid4().hex[:8]}", board_url, persistence=backend) as board:
        job = board.post("j", book=book)
        first = Lease(board, job, board.claim(job, "alpha", expiry=0.2))
        lost: list[str] = []
        first.on_lost(lambda: lost.append("suspend"))
        old = FencedBackend(backend, first)
        old.enter()
        conn = old.get_connection()
        assert conn.atomic
        conn.update_atom_details(task)
        time.sleep(0.3)
        second = Lease(board, job, board.claim(job, "beta", expiry=30))
        FencedBackend(backend, second).enter()
        board.close()  # the earlier holder can no longer ask the board: only the store can refuse it
        task.state = states.SUCCESS
        with pytest.raises(ClaimLostError, match=r"write refused by the store"):
            conn.update_atom_details(task)
        assert lost == ["suspend"] and first.lost
        with pytest.raises(ClaimLostError):
            conn.update_flow_details(flow)
    assert _stored_state(url, task) != states.SUCCESS
    backend.close()

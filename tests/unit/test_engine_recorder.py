"""The engine side of the recorder seam: nothing starts before what it depends on is durable.

``LateStorage`` is a ``Storage`` whose ``commit()`` acknowledges later, from
another thread (as a group-committing recorder does): each commit takes the
transitions recorded since the last one and makes them durable a few
milliseconds later. Every task checks, when it starts, that no transition is
still waiting to be durable.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from greenflow import GraphFlow, LinearFlow, Task, UnorderedFlow, load, run_many, states
from greenflow.exceptions import StorageError
from greenflow.storage import Completion, Storage


class LateStorage(Storage):
    """Acknowledges each commit ``delay`` seconds later from a timer thread (or fails it)."""

    defers_commits = True

    def __init__(self, *args: Any, delay: float = 0.005, error: BaseException | None = None) -> None:
        super().__init__(*args)
        self.delay = delay
        self.error = error
        self.undurable: list[tuple[str, int]] = []
        self.commits = 0
        self._lock = threading.Lock()

    def _note(self, what: str, i: int) -> None:
        with self._lock:
            self.undurable.append((what, i))

    def record_state(self, i: int, state: str, intention: str | None = None) -> None:
        super().record_state(i, state, intention)
        self._note(state, i)

    def record_result(self, i: int, value: Any) -> None:
        super().record_result(i, value)
        self._note("result", i)

    def record_failure(self, i: int, failure: Any) -> None:
        super().record_failure(i, failure)
        self._note("failure", i)

    def record_reverted(self, i: int, value: Any) -> None:
        super().record_reverted(i, value)
        self._note("reverted", i)

    def commit(self) -> Completion | None:  # type: ignore[override]
        with self._lock:
            batch, self.undurable = self.undurable, []
        if not batch:
            return None
        self.commits += 1
        completion = Completion()

        def durable() -> None:
            completion.set_done(self.error)

        timer = threading.Timer(self.delay, durable)
        timer.daemon = True
        timer.start()
        return completion


class Checked(Task):
    """Fails the test (through ``problems``) if it starts while a transition is not durable."""

    def __init__(self, name: str, problems: list[str], fails: bool = False, **options: Any) -> None:
        super().__init__(name, **options)
        self.problems = problems
        self.fails = fails
        self.storage: LateStorage | None = None

    def _check(self, what: str) -> None:
        assert self.storage is not None
        with self.storage._lock:
            pending = list(self.storage.undurable)
        if pending:
            self.problems.append(f"{what} {self.name} started with {pending} not durable")

    def execute(self, **kwargs: Any) -> str:
        self._check("execute")
        if self.fails:
            raise RuntimeError(f"{self.name} failed")
        return self.name

    def revert(self, **kwargs: Any) -> None:
        self._check("revert")


def _late(engine: Any, atoms: list[Checked], **kwargs: Any) -> LateStorage:
    storage = LateStorage(engine.storage.flow_detail, engine.storage.backend, **kwargs)
    engine.storage = storage
    for atom in atoms:
        atom.storage = storage
    return storage


@pytest.mark.parametrize(
    "options", [{}, {"engine": "parallel"}, {"engine": "parallel", "executor": "thread"}]
)
def test_no_atom_starts_before_its_predecessors_transitions_are_durable(options):
    problems: list[str] = []
    atoms = [Checked(name, problems) for name in "abcd"]
    flow = GraphFlow("g").add(*atoms)
    flow.link(atoms[0], atoms[1]).link(atoms[0], atoms[2]).link(atoms[1], atoms[3]).link(atoms[2], atoms[3])
    engine = load(flow, **options)
    storage = _late(engine, atoms)
    engine.run()
    assert problems == []
    assert storage.commits >= 3
    assert engine.storage.fetch_all() == {} and engine.storage.get_flow_state() == states.SUCCESS
    assert {engine.storage.get_atom_state(n) for n in "abcd"} == {states.SUCCESS}


def test_reverts_wait_for_the_failure_to_be_durable():
    problems: list[str] = []
    atoms = [Checked("a", problems), Checked("b", problems, fails=True)]
    engine = load(LinearFlow("f").add(*atoms))
    _late(engine, atoms)
    with pytest.raises(RuntimeError, match="b failed"):
        engine.run()
    assert problems == []
    assert engine.storage.get_atom_state("a") == states.REVERTED


def test_run_iter_yields_waiting_while_a_commit_is_pending():
    problems: list[str] = []
    atoms = [Checked("a", problems)]
    engine = load(LinearFlow("f").add(*atoms))
    _late(engine, atoms, delay=0.05)
    seen = list(engine.run_iter())
    assert seen[0] == states.RUNNING and seen[-1] == states.SUCCESS
    assert "WAITING" in seen


def test_a_failed_commit_ends_the_run_with_the_write_error():
    problems: list[str] = []
    atoms = [Checked("a", problems), Checked("b", problems)]
    engine = load(LinearFlow("f").add(*atoms))
    _late(engine, atoms, error=StorageError("disk full"))
    with pytest.raises(StorageError, match="disk full"):
        engine.run()
    assert [name for name in ("a", "b") if engine.storage.get_atom_state(name) == states.SUCCESS] == []
    # Storage failed: the engine writes nothing more (the flow is not made FAILURE).
    assert engine.storage.get_flow_state() == states.RUNNING


def test_run_many_multiplexes_engines_whose_commits_are_acknowledged_later():
    problems: list[str] = []
    engines = []
    for n in range(20):
        atoms = [Checked(f"a{n}", problems), Checked(f"b{n}", problems)]
        engine = load(UnorderedFlow(f"f{n}").add(*atoms), engine="parallel")
        _late(engine, atoms)
        engines.append(engine)
    summary = run_many(engines, hub="threading", concurrency=8)
    assert summary.succeeded == 20
    assert problems == []

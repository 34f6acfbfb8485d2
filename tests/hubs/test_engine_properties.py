"""Property-based tests of the engine on this process's hub (hypothesis; capped by the "ci" profile).

Random nested linear and unordered flows, with random data dependencies
between atoms the structure orders, an optional failing atom and an optional
flow retry, run on the serial and the parallel engine. Checked against a small
reference interpreter of the patterns:

* every atom the structure orders before another executes before it;
* a run that succeeds executes each atom once and gives the reference's results;
* a run that fails reverts every atom that executed exactly once, in reverse
  order of the structure, and nothing that never ran; nothing ordered after
  the failed atom executes;
* a run cut at a random point (the process "dies": an exception no engine
  catches) and resumed from a SQLite record ends with the record an
  uninterrupted run gives, no finished atom executing twice.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import greenflow
from greenflow import states
from greenflow.atoms import Task, Times
from greenflow.patterns import LinearFlow, UnorderedFlow

pytestmark = pytest.mark.timeout(300)


class Died(BaseException):
    """The process dies here: nothing in the engine may catch it."""


@dataclass
class Plan:
    """A flow shape: ``(kind, name, children)`` trees whose leaves are atom names."""

    tree: Any
    requires: dict[str, list[str]] = field(default_factory=dict)
    fails: str | None = None
    flaky: str | None = None  # fails on its first attempt only, under a flow retry

    @property
    def atoms(self) -> list[str]:
        out: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, str):
                out.append(node)
            else:
                for child in node[2]:
                    walk(child)

        walk(self.tree)
        return out

    def before(self) -> set[tuple[str, str]]:
        """``(a, b)``: the structure orders ``a`` before ``b``."""
        pairs: set[tuple[str, str]] = set()

        def leaves(node: Any) -> list[str]:
            return [node] if isinstance(node, str) else [x for c in node[2] for x in leaves(c)]

        def walk(node: Any) -> None:
            if isinstance(node, str):
                return
            kind, _name, children = node
            if kind == "linear":
                for i, first in enumerate(children):
                    for later in children[i + 1 :]:
                        pairs.update((a, b) for a in leaves(first) for b in leaves(later))
            for child in children:
                walk(child)

        walk(self.tree)
        return pairs

    def reference(self) -> dict[str, int]:
        """What each atom returns: its name's length plus what it requires (in the structure's order)."""
        values: dict[str, int] = {}
        before = self.before()
        pending = list(self.atoms)
        while pending:
            for name in pending:
                if all((p, name) in before and p in values for p in self.requires.get(name, [])):
                    values[name] = len(name) + sum(values[p] for p in self.requires.get(name, []))
                    pending.remove(name)
                    break
        return values


@st.composite
def plans(draw: Any) -> Plan:
    counter = itertools.count()

    def build(depth: int) -> Any:
        kind = draw(st.sampled_from(["linear", "unordered"]))
        children: list[Any] = []
        for _ in range(draw(st.integers(1, 4))):
            if depth < 3 and draw(st.integers(0, 3)) == 0:
                children.append(build(depth + 1))
            else:
                children.append(f"a{next(counter)}")
        return (kind, f"f{next(counter)}", children)

    plan = Plan(build(0))
    before = plan.before()
    for name in plan.atoms:
        earlier = sorted(a for a, b in before if b == name)
        if earlier:
            plan.requires[name] = draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True))
    choice = draw(st.sampled_from(["ok", "fails", "flaky"]))
    if choice == "fails":
        plan.fails = draw(st.sampled_from(plan.atoms))
    elif choice == "flaky":
        plan.flaky = draw(st.sampled_from(plan.atoms))
    return plan


class Step(Task):
    """Logs its executes and reverts; returns ``len(name) + sum(required values)``."""

    def __init__(self, name: str, requires: list[str], log: list[tuple[str, str]], plan: Plan, die_at: Any):
        super().__init__(name, provides=f"v_{name}", requires=[f"v_{r}" for r in requires])
        self.log = log
        self.plan = plan
        self.die_at = die_at

    def execute(self, **values: int) -> int:
        if self.die_at is not None and self.die_at() == self.name:
            raise Died(self.name)
        self.log.append(("execute", self.name))
        if self.plan.fails == self.name:
            raise ValueError(f"{self.name} failed")
        if self.plan.flaky == self.name and sum(1 for e in self.log if e == ("execute", self.name)) == 1:
            raise ValueError(f"{self.name} failed once")
        return len(self.name) + sum(values.values())

    def revert(self, **_kwargs: Any) -> None:
        self.log.append(("revert", self.name))


def build(plan: Plan, log: list[tuple[str, str]], die_at: Any = None) -> Any:
    def make(node: Any, top: bool) -> Any:
        if isinstance(node, str):
            return Step(node, plan.requires.get(node, []), log, plan, die_at)
        kind, name, children = node
        retry = Times(2, name=f"{name}_retry") if top and plan.flaky else None
        flow = (LinearFlow if kind == "linear" else UnorderedFlow)(name, retry=retry)
        return flow.add(*(make(child, False) for child in children))

    return make(plan.tree, True)


def _check_order(plan: Plan, log: list[tuple[str, str]], event: str, reverse: bool = False) -> None:
    position = {name: i for i, (e, name) in enumerate(log) if e == event}
    for a, b in plan.before():
        if a in position and b in position:
            first, then = (b, a) if reverse else (a, b)
            assert position[first] < position[then], f"{event} of {first} came after {then}: {log}"


@pytest.mark.parametrize("engine", ["serial", "parallel"])
@given(plan=plans())
def test_random_flows_respect_order_revert_once_and_match_the_reference(engine: str, plan: Plan) -> None:
    log: list[tuple[str, str]] = []
    run = greenflow.load(build(plan, log), engine=engine)
    if plan.fails is not None:
        with pytest.raises(ValueError, match=f"{plan.fails} failed"):
            run.run()
        executed = [n for e, n in log if e == "execute"]
        reverted = [n for e, n in log if e == "revert"]
        assert sorted(executed) == sorted(set(executed)), f"an atom executed twice: {log}"
        assert sorted(reverted) == sorted(executed), f"not every executed atom reverted once: {log}"
        assert not [b for a, b in plan.before() if a == plan.fails and b in executed]
        _check_order(plan, log, "revert", reverse=True)
        _check_order(plan, log, "execute")
        return
    run.run()
    if plan.flaky is None:
        assert sorted(n for e, n in log) == sorted(plan.atoms) and all(e == "execute" for e, _ in log)
        _check_order(plan, log, "execute")
    else:  # one failed attempt, reverted, then a clean one
        second = log[max(i for i, (event, _) in enumerate(log) if event == "revert") + 1 :]
        _check_order(plan, second, "execute")
        assert sorted(n for _, n in second) == sorted(plan.atoms)
    assert {n: run.storage.fetch(f"v_{n}") for n in plan.atoms} == plan.reference()


@given(plan=plans().filter(lambda p: p.fails is None and p.flaky is None), cut=st.integers(0, 30))
def test_a_run_cut_at_a_random_point_resumes_to_the_uninterrupted_record(
    tmp_path_factory: pytest.TempPathFactory, plan: Plan, cut: int
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('cut')}/record.db"
    order = plan.atoms
    target = order[cut % len(order)]
    log: list[tuple[str, str]] = []
    backend = greenflow.persistence.fetch_backend(url)
    first = greenflow.load(build(plan, log, die_at=lambda: target), backend=backend)
    with pytest.raises(Died):
        first.run()
    finished = {n for e, n in log if e == "execute"}
    backend.close()

    backend = greenflow.persistence.fetch_backend(url)
    detail = backend.get_connection().get_flow_details(first.storage.flow_uuid)
    resumed_log: list[tuple[str, str]] = []
    greenflow.load(build(plan, resumed_log), flow_detail=detail, backend=backend).run()
    again = {n for e, n in resumed_log if e == "execute"}
    assert not finished & again, f"finished atoms ran again: {sorted(finished & again)}"
    record = backend.get_connection().get_flow_details(first.storage.flow_uuid)
    backend.close()
    assert record.state == states.SUCCESS
    reference = plan.reference()
    assert {a.name: (a.state, a.results) for a in record} == {
        n: (states.SUCCESS, reference[n]) for n in plan.atoms
    }


def test_the_generator_makes_nested_flows() -> None:
    """The strategy is not trivial: it nests, orders and links atoms."""
    seen = threading.local()
    seen.nested = seen.linked = False

    @given(plan=plans())
    def probe(plan: Plan) -> None:
        seen.nested |= any(not isinstance(c, str) for c in plan.tree[2])
        seen.linked |= any(plan.requires.values())

    probe()
    assert seen.nested and seen.linked

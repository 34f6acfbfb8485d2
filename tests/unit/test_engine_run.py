"""Serial engine: running flows forward, passing data between atoms, notifications."""

from __future__ import annotations

from typing import Any

import pytest

from greenflow import (
    FunctorTask,
    LinearFlow,
    MapFunctorTask,
    ReduceFunctorTask,
    Task,
    Times,
    UnorderedFlow,
    load,
    run,
    states,
)


def _states(engine: Any, names: Any) -> dict[str, str]:
    return {name: engine.storage.get_atom_state(name) for name in names}


# -- patterns -----------------------------------------------------------------------------


def test_linear_flow_runs_atoms_in_order(step, calls):
    flow = LinearFlow("lin").add(step("a"), step("b"), step("c"))
    engine = load(flow)
    engine.run()
    assert calls == [("execute", "a"), ("execute", "b"), ("execute", "c")]
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert _states(engine, "abc") == dict.fromkeys("abc", states.SUCCESS)


def test_unordered_flow_runs_every_atom(step, calls):
    flow = UnorderedFlow("un").add(step("a"), step("b"), step("c"))
    engine = load(flow)
    engine.run()
    assert sorted(calls) == [("execute", "a"), ("execute", "b"), ("execute", "c")]
    assert _states(engine, "abc") == dict.fromkeys("abc", states.SUCCESS)


def test_nested_flows_run_inside_their_parent_in_order(step, calls):
    inner = UnorderedFlow("inner").add(step("b1"), step("b2"))
    innermost = LinearFlow("innermost").add(step("c1"), step("c2"))
    flow = LinearFlow("outer").add(step("a"), inner, innermost, step("d"))
    load(flow).run()
    names = [name for _, name in calls]
    assert names[0] == "a"
    assert sorted(names[1:3]) == ["b1", "b2"]
    assert names[3:] == ["c1", "c2", "d"]


def test_empty_flow_succeeds():
    engine = load(LinearFlow("empty"))
    engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert engine.storage.fetch_all() == {}


# -- data flow ----------------------------------------------------------------------------


def test_result_of_an_atom_is_passed_to_atoms_requiring_it(step):
    producer = step("producer", provides="x", value=41)
    consumer = step("consumer", requires="x", provides="y", value="done")
    engine = load(LinearFlow("data").add(producer, consumer))
    engine.run()
    assert consumer.received == [{"x": 41}]
    assert engine.storage.fetch("x") == 41
    assert engine.storage.fetch("y") == "done"
    assert engine.storage.get("producer") == 41


def test_run_returns_every_provided_symbol_and_store_values(step):
    flow = LinearFlow("r").add(
        step("a", provides="x", value=1), step("b", requires="x", provides="y", value=2)
    )
    assert run(flow, store={"extra": "e"}) == {"x": 1, "y": 2, "extra": "e"}


def test_store_values_are_given_to_atoms_that_require_them(step):
    consumer = step("c", requires=("host", "port"))
    engine = load(LinearFlow("s").add(consumer), store={"host": "h", "port": 80})
    engine.run()
    assert consumer.received == [{"host": "h", "port": 80}]


def test_provides_tuple_names_result_items_by_position(step):
    split = step("split", provides=("first", "second"), value=("one", "two"))
    user = step("user", requires=("first", "second"))
    engine = load(LinearFlow("t").add(split, user))
    engine.run()
    assert user.received == [{"first": "one", "second": "two"}]
    assert engine.storage.fetch("second") == "two"


def test_provides_set_names_result_items_by_key(step):
    lookup = step("lookup", provides={"host", "port"}, value={"host": "h", "port": 1, "unused": 0})
    user = step("user", requires=("host", "port"))
    engine = load(LinearFlow("t").add(lookup, user))
    engine.run()
    assert user.received == [{"host": "h", "port": 1}]
    assert engine.storage.fetch_all() == {"host": "h", "port": 1}


class _Adder(Task):
    def execute(self, x, y):  # type: ignore[override]
        return x + y


def test_rebind_list_binds_arguments_in_order():
    adder = _Adder("add", rebind=["left", "right"], provides="sum")
    assert run(LinearFlow("rb").add(adder), store={"left": 1, "right": 10})["sum"] == 11


def test_rebind_dict_maps_an_argument_to_another_symbol():
    adder = _Adder("add", rebind={"y": "other"}, provides="sum")
    assert run(LinearFlow("rb").add(adder), store={"x": 1, "other": 100})["sum"] == 101


def test_inject_gives_one_atom_its_own_value(step):
    own = step("own", requires="x", inject={"x": "mine"})
    shared = step("shared", requires="x")
    load(UnorderedFlow("inj").add(own, shared), store={"x": "store"}).run()
    assert own.received == [{"x": "mine"}]
    assert shared.received == [{"x": "store"}]


class _Greeter(Task):
    def execute(self, name, greeting="hello"):  # type: ignore[override]
        return f"{greeting} {name}"


def test_optional_argument_keeps_its_default_when_nothing_provides_it():
    result = run(LinearFlow("opt").add(_Greeter("greet", provides="text")), store={"name": "ann"})
    assert result["text"] == "hello ann"


def test_optional_argument_is_given_when_something_provides_it():
    result = run(
        LinearFlow("opt").add(_Greeter("greet", provides="text")), store={"name": "ann", "greeting": "hi"}
    )
    assert result["text"] == "hi ann"


def test_later_provider_of_a_symbol_shadows_an_earlier_one_in_a_linear_flow(step):
    reader = step("reader", requires="x")
    flow = LinearFlow("shadow").add(
        step("first", provides="x", value=1), step("second", provides="x", value=2), reader
    )
    engine = load(flow)
    engine.run()
    assert reader.received == [{"x": 2}]
    assert engine.storage.fetch("x") == 2


def test_functor_tasks_run_their_functions():
    flow = LinearFlow("fn").add(
        FunctorTask(lambda a, b: a * b, name="mul", provides="product"),
        MapFunctorTask(lambda v: v + 1, requires=["a", "b"], name="inc", provides="incremented"),
        ReduceFunctorTask(
            lambda acc, v: acc + v, requires=["a", "b", "product"], name="sum", provides="total"
        ),
    )
    result = run(flow, store={"a": 3, "b": 4})
    assert result["product"] == 12
    assert result["incremented"] == [4, 5]
    assert result["total"] == 19


# -- notifications ------------------------------------------------------------------------


def test_flow_notifier_reports_running_then_success_with_details(step, listen):
    engine = load(LinearFlow("notified").add(step("a")))
    events = listen(engine)
    engine.run()
    assert events.flow == [states.RUNNING, states.SUCCESS]
    first = events.flow_details[0]
    assert first["engine"] is engine
    assert first["flow_name"] == "notified"
    assert first["flow_uuid"] == engine.storage.flow_uuid
    assert first["old_state"] == states.PENDING
    assert events.flow_details[1]["old_state"] == states.RUNNING


def test_atom_notifier_reports_every_transition_with_result(step, listen):
    engine = load(LinearFlow("n").add(step("a", value=5)))
    events = listen(engine)
    engine.run()
    assert events.of("a") == [states.RUNNING, states.SUCCESS]
    (_, running), (_, success) = events.atom_details
    assert running["task_name"] == "a"
    assert running["task_uuid"] == engine.storage.flow_detail.find_by_name("a").uuid
    assert running["old_state"] == states.PENDING
    assert "result" not in running
    assert success["result"] == 5
    assert success["old_state"] == states.RUNNING


def test_atom_notifier_reports_failure_and_revert_results(step, listen):
    engine = load(LinearFlow("n").add(step("a", fail=True)))
    events = listen(engine)
    with pytest.raises(RuntimeError):
        engine.run()
    assert events.of("a") == [states.RUNNING, states.FAILURE, states.REVERTING, states.REVERTED]
    by_event = dict(events.atom_details)
    assert by_event[states.FAILURE]["result"].check(RuntimeError)
    assert by_event[states.REVERTED]["result"] is None


def test_retry_events_name_the_retry(step, listen):
    engine = load(LinearFlow("rf", retry=Times(2, name="r")).add(step("a")))
    events = listen(engine)
    engine.run()
    retry_events = [details for _, details in events.atom_details if "retry_name" in details]
    assert [d["retry_name"] for d in retry_events] == ["r", "r"]
    assert all("task_name" not in d for d in retry_events)
    assert retry_events[0]["retry_uuid"] == engine.storage.flow_detail.find_by_name("r").uuid
    assert retry_events[-1]["result"] == 1


class _Progressing(Task):
    def execute(self):  # type: ignore[override]
        self.update_progress(0.5)
        self.update_progress(2.0)


def test_update_progress_is_reported_on_the_atom_notifier(listen):
    engine = load(LinearFlow("p").add(_Progressing("work")))
    events = listen(engine)
    engine.run()
    progress = [details for event, details in events.atom_details if event == "update_progress"]
    assert [(d["task_name"], d["progress"]) for d in progress] == [("work", 0.5), ("work", 1.0)]
    assert events.of("work") == [states.RUNNING, "update_progress", "update_progress", states.SUCCESS]


def test_a_failing_listener_does_not_stop_the_flow(step, calls):
    engine = load(LinearFlow("l").add(step("a"), step("b")))

    def broken(event_type, details):
        raise ValueError("listener bug")

    engine.atom_notifier.register(states.SUCCESS, broken)
    engine.run()
    assert calls == [("execute", "a"), ("execute", "b")]
    assert engine.storage.get_flow_state() == states.SUCCESS


# -- statistics ---------------------------------------------------------------------------


def test_statistics_count_runs_and_atoms(step):
    engine = load(LinearFlow("st").add(step("a"), step("b"), step("c", fail=True)))
    with pytest.raises(RuntimeError):
        engine.run()
    stats = engine.statistics
    assert stats.runs == 1
    assert stats.atoms_executed == 3
    assert stats.atoms_reverted == 3
    assert stats.last_state == states.REVERTED


# -- size -----------------------------------------------------------------------------------


def test_two_thousand_task_linear_flow_runs_every_task_in_order(step, calls):
    n = 2000
    flow = LinearFlow("long").add(step("t0", provides="v0", value=0))
    for i in range(1, n):
        flow.add(FunctorTask(lambda x: x + 1, name=f"t{i}", rebind=[f"v{i - 1}"], provides=f"v{i}"))
    engine = load(flow)
    engine.run()
    assert engine.storage.fetch(f"v{n - 1}") == n - 1
    assert engine.statistics.atoms_executed == n
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_two_wide_unordered_flows_in_sequence_run_every_atom_layer_by_layer(step, calls):
    width = 500
    first = UnorderedFlow("first").add(*(step(f"a{i}") for i in range(width)))
    second = UnorderedFlow("second").add(*(step(f"b{i}") for i in range(width)))
    engine = load(LinearFlow("wide").add(first, second))
    engine.run()
    names = [name for _, name in calls]
    assert sorted(names[:width]) == sorted(f"a{i}" for i in range(width))
    assert sorted(names[width:]) == sorted(f"b{i}" for i in range(width))
    assert engine.statistics.atoms_executed == 2 * width
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_failure_after_two_wide_layers_reverts_every_atom_once(step, calls):
    width = 500
    first = UnorderedFlow("first").add(*(step(f"a{i}") for i in range(width)))
    second = UnorderedFlow("second").add(*(step(f"b{i}") for i in range(width)))
    engine = load(LinearFlow("wide").add(first, second, step("boom", fail=True)))
    with pytest.raises(RuntimeError, match="boom failed"):
        engine.run()
    reverted = [name for kind, name in calls if kind == "revert"]
    assert len(reverted) == len(set(reverted)) == 2 * width + 1
    # Every atom of the second layer is reverted before any of the first.
    assert reverted[0] == "boom"
    assert {n[0] for n in reverted[1 : width + 1]} == {"b"}
    assert {n[0] for n in reverted[width + 1 :]} == {"a"}
    assert engine.storage.get_flow_state() == states.REVERTED


def test_run_iter_with_steps_shows_each_round_of_atoms():
    import greenflow
    from greenflow.engines import ANALYZING, SCHEDULING, WAITING

    class Inc(greenflow.Task):
        def execute(self, x: int) -> int:
            return x + 1

    flow = greenflow.LinearFlow("f").add(Inc("a", provides="y", rebind=["x"]), Inc("b", rebind=["y"]))
    serial = greenflow.load(flow, store={"x": 1}, engine="serial")
    one_round = [SCHEDULING, WAITING, ANALYZING]
    assert list(serial.run_iter(steps=True)) == ["RUNNING", *one_round, *one_round, "SUCCESS"]
    assert list(greenflow.load(flow, store={"x": 1}, engine="serial").run_iter()) == ["RUNNING", "SUCCESS"]

    parallel = greenflow.load(flow, store={"x": 1}, engine="parallel", executor="thread")
    seen = []
    for state in parallel.run_iter(steps=True):
        seen.append(state)
        if state == WAITING:
            parallel.wait_step()
    assert seen[0] == "RUNNING" and seen[-1] == "SUCCESS"
    assert seen.count(SCHEDULING) == 2 and seen.count(ANALYZING) == 2
    assert seen.index(SCHEDULING) < seen.index(WAITING) < seen.index(ANALYZING)


def test_run_iter_with_steps_shows_one_round_for_an_empty_flow():
    import greenflow
    from greenflow.engines import ANALYZING, SCHEDULING, WAITING

    for engine in ("serial", "parallel"):
        flow = greenflow.LinearFlow("empty").add(greenflow.UnorderedFlow("inner"))
        seen = list(greenflow.load(flow, engine=engine).run_iter(steps=True))
        assert seen == ["RUNNING", SCHEDULING, WAITING, ANALYZING, "SUCCESS"]


def test_atoms_ready_together_start_by_priority_highest_first(step, calls):
    atoms = [step(f"t{i}") for i in range(5)]
    for atom, priority in zip(atoms, [0, 3, 1, 3, 2], strict=True):
        atom.priority = priority
    load(UnorderedFlow("u").add(*atoms)).run()
    # Ties keep the flow's order.
    assert [name for _, name in calls] == ["t1", "t3", "t4", "t2", "t0"]


def test_an_injected_value_is_preferred_to_an_earlier_atoms_result_of_that_name():
    import greenflow

    class AddOne(greenflow.Task):
        def execute(self, value: int) -> int:
            return value + 1

    flow = LinearFlow("f").add(*(AddOne(name, provides="value") for name in "abc"))
    engine = load(flow, store={"value": 0})
    engine.run()
    # Each atom got the injected 0, not the result of the atom before it.
    assert [engine.storage.get(name) for name in "abc"] == [1, 1, 1]

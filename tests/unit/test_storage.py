"""``Storage`` seen through an engine: fetch, inject, results, states, retry history."""

from __future__ import annotations

import pytest

import greenflow
from greenflow import states
from greenflow.atoms import Task, Times
from greenflow.exceptions import InvalidOptionError, NotFoundError
from greenflow.failure import Failure
from greenflow.patterns import LinearFlow
from greenflow.persistence import FlowDetail, MemoryBackend
from greenflow.storage import Storage


class Const(Task):
    def __init__(self, name, value, provides=None):
        super().__init__(name, provides=provides)
        self.value = value

    def execute(self):
        return self.value


class Fail(Task):
    def execute(self):
        raise RuntimeError(f"{self.name} failed")


def _engine(*atoms, store=None, **kwargs):
    return greenflow.load(LinearFlow("flow").add(*atoms), store=store, **kwargs)


# -- fetch ------------------------------------------------------------------------------------------


def test_fetch_returns_a_provided_result():
    engine = _engine(Const("a", 5, provides="x"))
    engine.run()
    assert engine.storage.fetch("x") == 5


def test_fetch_returns_the_latest_provider_of_a_symbol():
    engine = _engine(Const("first", 1, provides="x"), Const("second", 2, provides="x"))
    engine.run()
    assert engine.storage.fetch("x") == 2
    assert engine.storage.fetch("x", many_handler=list) == [1, 2]


def test_fetch_of_result_items_named_by_position_or_key():
    engine = _engine(
        Const("pair", ("10.0.0.1", 22), provides=["ip", "port"]),
        Const("keyed", {"host": "h", "other": 1}, provides={"host"}),
    )
    engine.run()
    assert engine.storage.fetch("ip") == "10.0.0.1"
    assert engine.storage.fetch("port") == 22
    assert engine.storage.fetch("host") == "h"


def test_fetch_returns_an_injected_value():
    engine = _engine(Const("a", 1), store={"region": "eu"})
    assert engine.storage.fetch("region") == "eu"


def test_provided_result_shadows_an_injected_value():
    engine = _engine(Const("a", "result", provides="x"), store={"x": "injected"})
    assert engine.storage.fetch("x") == "injected"
    engine.run()
    assert engine.storage.fetch("x") == "result"


def test_fetch_of_an_unknown_symbol_names_flow_and_symbol():
    engine = _engine(Const("a", 1, provides="x"))
    with pytest.raises(NotFoundError) as info:
        engine.storage.fetch("x")  # not run yet
    message = str(info.value)
    assert "flow 'flow' has no value for 'x'" in message
    assert "not injected" in message
    assert isinstance(info.value, KeyError)


def test_fetch_all_returns_every_symbol_injected_or_provided():
    engine = _engine(Const("a", 1, provides="x"), Const("b", 2, provides="y"), store={"z": 3})
    engine.run()
    assert engine.storage.fetch_all() == {"x": 1, "y": 2, "z": 3}


def test_run_returns_fetch_all():
    assert greenflow.run(LinearFlow("f").add(Const("a", 1, provides="x")), store={"z": 0}) == {"x": 1, "z": 0}


def test_failed_provider_provides_nothing():
    engine = greenflow.load(LinearFlow("f").add(Const("a", 1, provides="x"), Fail("b")))
    with pytest.raises(RuntimeError):
        engine.run()
    with pytest.raises(NotFoundError):
        engine.storage.fetch("x")  # reverted


# -- inject -----------------------------------------------------------------------------------------


def test_inject_persistent_values_are_kept_in_the_flow_detail():
    engine = _engine(Const("a", 1))
    engine.storage.inject({"a": 1})
    assert engine.storage.flow_detail.meta["injected"] == {"a": 1}
    assert engine.storage.fetch("a") == 1


def test_inject_transient_values_are_not_written_to_the_flow_detail():
    engine = _engine(Const("a", 1))
    engine.storage.inject({"secret": "s"}, transient=True)
    assert "injected" not in engine.storage.flow_detail.meta
    assert engine.storage.fetch("secret") == "s"
    assert engine.storage.fetch_all() == {"secret": "s"}


def test_transient_value_shadows_a_persistent_one():
    engine = _engine(Const("a", 1))
    engine.storage.inject({"v": "persistent"})
    engine.storage.inject({"v": "transient"}, transient=True)
    assert engine.storage.fetch("v") == "transient"


def test_inject_accepts_pairs_and_merges():
    engine = _engine(Const("a", 1))
    engine.storage.inject([("a", 1)])
    engine.storage.inject({"b": 2})
    assert engine.storage.flow_detail.meta["injected"] == {"a": 1, "b": 2}


def test_inject_names_must_be_strings():
    engine = _engine(Const("a", 1))
    with pytest.raises(InvalidOptionError, match=r"injected names must be strings, got 1"):
        engine.storage.inject({1: "x"})


def test_store_values_reach_the_atoms():
    class Uses(Task):
        def execute(self, region):
            return region.upper()

    assert greenflow.run(LinearFlow("f").add(Uses("u", provides="r")), store={"region": "eu"})["r"] == "EU"


def test_store_must_be_a_dict():
    with pytest.raises(InvalidOptionError) as info:
        _engine(Const("a", 1), store=[("region", "eu")])
    assert "store must be a dict of name -> value" in str(info.value)
    assert "[('region', 'eu')]" in str(info.value)


def test_store_is_transient_by_default_and_persistent_on_request():
    transient = _engine(Const("a", 1), store={"k": 1})
    assert "injected" not in transient.storage.flow_detail.meta
    persistent = _engine(Const("a", 1), store={"k": 1}, inject_transient=False)
    assert persistent.storage.flow_detail.meta["injected"] == {"k": 1}


# -- results, states, failures ------------------------------------------------------------------------


def test_get_returns_an_atom_result_and_its_state():
    engine = _engine(Const("a", {"v": 1}, provides="x"))
    engine.run()
    assert engine.storage.get("a") == {"v": 1}
    assert engine.storage.get_execute_result("a") == {"v": 1}
    assert engine.storage.get_atom_state("a") == states.SUCCESS
    assert engine.storage.get_atom_intention("a") == states.EXECUTE
    assert engine.storage.get_atoms_states(["a"]) == {"a": (states.SUCCESS, states.EXECUTE)}
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_atom_states_before_running_are_pending():
    engine = _engine(Const("a", 1))
    engine.prepare()
    assert engine.storage.get_atom_state("a") == states.PENDING
    assert engine.storage.get_flow_state() == states.PENDING


def test_get_of_an_atom_without_result_says_its_state():
    engine = _engine(Const("a", 1))
    engine.prepare()
    with pytest.raises(NotFoundError, match=r"atom 'a' has no result: it is PENDING"):
        engine.storage.get("a")


def test_get_of_an_unknown_atom_names_flow_and_atom():
    engine = _engine(Const("a", 1))
    engine.prepare()
    for method in (engine.storage.get, engine.storage.get_atom_state, engine.storage.get_retry_history):
        with pytest.raises(NotFoundError, match=r"flow 'flow' has no atom named 'nope'"):
            method("nope")


def test_failed_atom_result_is_its_failure():
    engine = _engine(Const("a", 1), Fail("bad"))
    with pytest.raises(RuntimeError, match="bad failed"):
        engine.run()
    failure = engine.storage.get("bad")
    assert isinstance(failure, Failure)
    assert failure.check(RuntimeError)
    assert engine.storage.get_atom_state("bad") == states.REVERTED
    assert engine.storage.get_atom_state("a") == states.REVERTED
    assert engine.storage.get_flow_state() == states.REVERTED
    assert set(engine.storage.get_failures()) == {"bad"}
    assert engine.storage.has_failures()
    assert engine.storage.get_revert_failures() == {}


class Undo(Task):
    def execute(self):
        return 1

    def revert(self, **kwargs):
        return "undone"


class BadUndo(Task):
    def execute(self):
        return 1

    def revert(self, **kwargs):
        raise OSError("cannot undo")


def test_revert_result_is_recorded():
    engine = _engine(Undo("undo"), Fail("fail"))
    with pytest.raises(RuntimeError):
        engine.run()
    assert engine.storage.get_revert_result("undo") == "undone"


def test_revert_failure_is_recorded():
    engine = _engine(Undo("undo"), BadUndo("bad_undo"), Fail("fail"))
    with pytest.raises(OSError, match="cannot undo"):
        engine.run()
    assert engine.storage.get_atom_state("bad_undo") == states.REVERT_FAILURE
    revert_failure = engine.storage.get_revert_result("bad_undo")
    assert isinstance(revert_failure, Failure) and revert_failure.check(OSError)
    assert set(engine.storage.get_revert_failures()) == {"bad_undo"}
    assert engine.storage.get_flow_state() == states.FAILURE


# -- retry history ------------------------------------------------------------------------------------


def test_retry_history_records_each_attempt_with_its_failures():
    attempts: list[int] = []

    class Flaky(Task):
        def execute(self, attempt):
            attempts.append(attempt)
            if attempt == 1:
                raise RuntimeError("first try")
            return attempt

    engine = greenflow.load(LinearFlow("f", retry=Times(3, provides="attempt")).add(Flaky("flaky")))
    engine.run()
    history = engine.storage.get_retry_history("f_retry")
    assert [result for result, _ in history] == [1, 2]
    failures = history[0][1]
    assert set(failures) == {"flaky"} and failures["flaky"].check(RuntimeError)
    assert history[1][1] == {}
    assert engine.storage.fetch("attempt") == 2


def test_retry_history_of_a_task_is_rejected():
    engine = _engine(Const("a", 1))
    engine.prepare()
    with pytest.raises(NotFoundError, match=r"atom 'a' is a task, not a retry"):
        engine.storage.get_retry_history("a")


# -- the flow detail ---------------------------------------------------------------------------------


def test_storage_reports_its_flow_name_and_uuid():
    detail = FlowDetail("named", uuid="u-1")
    storage = Storage(detail, MemoryBackend())
    assert storage.flow_name == "named"
    assert storage.flow_uuid == "u-1"

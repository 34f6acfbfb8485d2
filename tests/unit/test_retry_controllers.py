"""Retry controllers: what each decides from its history, and their argument checks."""

from __future__ import annotations

import pytest

import greenflow
from greenflow.atoms import (
    AlwaysRevert,
    AlwaysRevertAll,
    Decision,
    ForEach,
    History,
    ParameterizedForEach,
    Retry,
    Task,
    Times,
)
from greenflow.exceptions import InvalidOptionError, NotFoundError
from greenflow.failure import Failure
from greenflow.patterns import LinearFlow


def _failure(exc: BaseException) -> Failure:
    return Failure.from_exception(exc)


def _history(*results: object) -> History:
    """A history of failed attempts that provided ``results`` in turn."""
    return History([(r, {"task": _failure(RuntimeError(f"attempt {r}"))}) for r in results])


# -- Decision and History ---------------------------------------------------------------------------


def test_decision_values_are_the_taskflow_strings():
    assert [str(d) for d in Decision] == ["RETRY", "REVERT", "REVERT_ALL"]
    assert Decision("REVERT_ALL") is Decision.REVERT_ALL


def test_history_lists_attempts_in_order():
    history = _history(1, 2)
    assert len(history) == 2
    assert list(history.provided_iter()) == [1, 2]
    assert history[0][0] == 1
    assert [r for r, _ in history.outcomes_iter()] == [1, 2]


def test_history_caused_by_checks_every_recorded_failure():
    history = History([(1, {"a": _failure(KeyError("k"))}), (2, {"b": _failure(ValueError("v"))})])
    assert history.caused_by(ValueError)
    assert history.caused_by(LookupError)
    assert not history.caused_by(TypeError)


def test_history_caused_by_includes_the_retry_own_failure_only_when_asked():
    history = History([], failure=_failure(OSError("disk")))
    assert not history.caused_by(OSError)
    assert history.caused_by(OSError, include_retry=True)


# -- Retry base ----------------------------------------------------------------------------------


def test_retry_without_on_failure_says_which_retry():
    class NoDecision(Retry):
        pass

    with pytest.raises(NotImplementedError, match="'undecided'"):
        NoDecision("undecided").on_failure(History())


def test_retry_history_argument_is_not_a_requirement():
    class Custom(Retry):
        def execute(self, history, zone):
            return zone

        def on_failure(self, history, zone):
            return Decision.REVERT

    assert Custom("c").requires == {"zone"}


def test_unnamed_retry_takes_its_flow_name():
    retry = Times(2)
    LinearFlow("boot", retry=retry)
    assert retry.name == "boot_retry"


def test_named_retry_keeps_its_name():
    retry = Times(2, name="again")
    LinearFlow("boot", retry=retry)
    assert retry.name == "again"


# -- AlwaysRevert / AlwaysRevertAll -------------------------------------------------------------------


def test_always_revert_never_retries():
    assert AlwaysRevert().on_failure(_history(None)) is Decision.REVERT


def test_always_revert_all_never_retries_and_reverts_everything():
    assert AlwaysRevertAll().on_failure(_history(None)) is Decision.REVERT_ALL


# -- Times -------------------------------------------------------------------------------------------


def test_times_provides_the_attempt_number():
    times = Times(3)
    assert times.execute(History()) == 1
    assert times.execute(_history(1, 2)) == 3


def test_times_retries_until_the_attempts_are_used_up():
    times = Times(3)
    assert times.on_failure(_history(1)) is Decision.RETRY
    assert times.on_failure(_history(1, 2)) is Decision.RETRY
    assert times.on_failure(_history(1, 2, 3)) is Decision.REVERT


def test_times_revert_all_gives_up_with_revert_all():
    assert Times(1, revert_all=True).on_failure(_history(1)) is Decision.REVERT_ALL


@pytest.mark.parametrize("bad", [-1, "3", 2.0, True, None])
def test_times_attempts_must_be_a_non_negative_integer(bad):
    with pytest.raises(InvalidOptionError) as info:
        Times(bad)
    assert "Times(attempts=...) must be an integer >= 0" in str(info.value)
    assert f"got {bad!r}" in str(info.value)


def test_times_runs_the_flow_again_until_it_succeeds():
    calls: list[int] = []

    class Flaky(Task):
        def execute(self, attempt):
            calls.append(attempt)
            if attempt < 3:
                raise RuntimeError(f"attempt {attempt}")
            return attempt

    flow = LinearFlow("f", retry=Times(5, provides="attempt")).add(Flaky("flaky", provides="done"))
    engine = greenflow.load(flow)
    engine.run()
    assert calls == [1, 2, 3]
    assert engine.storage.fetch("done") == 3
    history = engine.storage.get_retry_history("f_retry")
    assert [r for r, failures in history if failures] == [1, 2]


# -- ForEach ----------------------------------------------------------------------------------------


def test_for_each_provides_the_values_in_turn():
    retry = ForEach(["a", "b", "c"])
    assert retry.execute(History()) == "a"
    assert retry.execute(_history("a")) == "b"
    assert retry.execute(_history("a", "b")) == "c"


def test_for_each_retries_while_values_remain():
    retry = ForEach(["a", "b"])
    assert retry.on_failure(_history("a")) is Decision.RETRY
    assert retry.on_failure(_history("a", "b")) is Decision.REVERT
    assert ForEach(["a"], revert_all=True).on_failure(_history("a")) is Decision.REVERT_ALL


def test_for_each_tries_a_value_listed_twice_twice():
    retry = ForEach([3, 2, 3, 5])
    assert retry.execute(_history(3, 2)) == 3
    assert retry.execute(_history(3, 2, 3)) == 5
    assert retry.on_failure(_history(3, 2, 3)) is Decision.RETRY
    assert retry.on_failure(_history(3, 2, 3, 5)) is Decision.REVERT


def test_for_each_accepts_any_non_string_iterable():
    assert ForEach(v for v in (1, 2)).execute(History()) == 1
    assert ForEach((1, 2)).execute(_history(1)) == 2


def test_times_zero_never_retries_like_times_one():
    assert Times(0).on_failure(_history(1)) is Decision.REVERT
    assert Times(0, revert_all=True).on_failure(_history(1)) is Decision.REVERT_ALL


def test_for_each_with_no_values_left_says_which_retry():
    with pytest.raises(NotFoundError, match=r"^No elements left to try in retry 'zones'"):
        ForEach(["a"], name="zones").execute(_history("a"))
    with pytest.raises(NotFoundError, match=r"^No elements left"):
        ForEach([], name="zones").execute(History())


@pytest.mark.parametrize("bad", ["abc", b"abc", 5, {"a": 1}, None])
def test_for_each_values_must_be_a_list_or_tuple(bad):
    with pytest.raises(InvalidOptionError) as info:
        ForEach(bad)
    assert "ForEach(values=...) must be a list or tuple" in str(info.value)
    assert f"got {bad!r}" in str(info.value)


def test_for_each_runs_the_flow_with_each_value_until_one_works():
    tried: list[str] = []

    class Boot(Task):
        def execute(self, zone):
            tried.append(zone)
            if zone != "z3":
                raise RuntimeError(f"{zone} is full")
            return zone

    flow = LinearFlow("f", retry=ForEach(["z1", "z2", "z3", "z4"], provides="zone")).add(
        Boot("boot", provides="got")
    )
    assert greenflow.run(flow)["got"] == "z3"
    assert tried == ["z1", "z2", "z3"]


def test_for_each_reverts_when_every_value_failed():
    class Boot(Task):
        def execute(self, zone):
            raise RuntimeError(f"{zone} is full")

    engine = greenflow.load(LinearFlow("f", retry=ForEach(["z1", "z2"], provides="zone")).add(Boot("boot")))
    with pytest.raises(RuntimeError, match="z2 is full"):
        engine.run()
    assert engine.storage.get_flow_state() == greenflow.states.REVERTED


# -- ParameterizedForEach -----------------------------------------------------------------------------


def test_parameterized_for_each_requires_values():
    assert ParameterizedForEach().requires == {"values"}
    assert ParameterizedForEach(rebind=["zones"]).requires == {"zones"}


def test_parameterized_for_each_takes_values_from_its_argument():
    retry = ParameterizedForEach()
    assert retry.execute(_history(1), values=[1, 2]) == 2
    assert retry.on_failure(_history(1), values=[1, 2]) is Decision.RETRY
    assert retry.on_failure(_history(1, 2), values=[1, 2]) is Decision.REVERT


def test_parameterized_for_each_runs_with_values_from_the_store():
    tried: list[str] = []

    class Boot(Task):
        def execute(self, zone):
            tried.append(zone)
            if zone == "z1":
                raise RuntimeError("full")
            return zone

    retry = ParameterizedForEach(rebind=["zones"], provides="zone")
    flow = LinearFlow("f", retry=retry).add(Boot("boot", provides="got"))
    assert greenflow.run(flow, store={"zones": ["z1", "z2"]})["got"] == "z2"
    assert tried == ["z1", "z2"]

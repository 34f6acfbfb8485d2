"""How an atom is called: every signature gets exactly what a call by keyword would give it."""

from __future__ import annotations

import functools
import sys
from typing import Any

import pytest

import greenflow
from greenflow.atoms import Action, ActionKind, Task, invoke_atom
from greenflow.patterns import LinearFlow, UnorderedFlow


def _values(outcome: Any) -> Any:
    ok, value = outcome
    assert ok, value
    return value


class Positional(Task):
    def execute(self, a, b, c=3):
        return ("positional", a, b, c)


class KeywordOnly(Task):
    def execute(self, a, *, b):
        return ("keyword-only", a, b)


class PositionalOnly(Task):
    def execute(self, a, /, b):
        return ("positional-only", a, b)


class Star(Task):
    def execute(self, *args, **kwargs):
        return ("star", args, kwargs)


def _keywords_seen(fn):
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        return ("wrapped", args, kwargs, fn(self, *args, **kwargs))

    return wrapper


class Decorated(Task):
    @_keywords_seen
    def execute(self, a, b):
        return (a, b)


class Static(Task):
    @staticmethod
    def execute(a, b):
        return ("static", a, b)


class Klass(Task):
    @classmethod
    def execute(cls, a, b):
        return ("class", cls.__name__, a, b)


class Five(Task):
    def execute(self, a, b, c, d, e):
        return (a, b, c, d, e)


@pytest.mark.parametrize(
    ("task", "kwargs", "expected"),
    [
        (Positional("p"), {"a": 1, "b": 2}, ("positional", 1, 2, 3)),
        (Positional("p"), {"a": 1, "b": 2, "c": 4}, ("positional", 1, 2, 4)),
        # Out of the signature's order, or with a gap: still bound by name.
        (Positional("p"), {"b": 2, "a": 1}, ("positional", 1, 2, 3)),
        (Positional("p"), {"a": 1, "c": 4, "b": 2}, ("positional", 1, 2, 4)),
        (KeywordOnly("k"), {"a": 1, "b": 2}, ("keyword-only", 1, 2)),
        (Star("s"), {"x": 1, "y": 2}, ("star", (), {"x": 1, "y": 2})),
        # A wrapper sees the keywords it was called with, not positions.
        (Decorated("d"), {"a": 1, "b": 2}, ("wrapped", (), {"a": 1, "b": 2}, (1, 2))),
        (Static("st"), {"a": 1, "b": 2}, ("static", 1, 2)),
        (Klass("cl"), {"a": 1, "b": 2}, ("class", "Klass", 1, 2)),
        (Five("f"), dict(zip("abcde", range(5), strict=True)), (0, 1, 2, 3, 4)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Task) else None,
)
def test_an_atom_gets_its_arguments_as_a_call_by_keyword_gives_them(task, kwargs, expected):
    assert _values(invoke_atom(ActionKind.EXECUTE, task, kwargs)) == expected


def test_a_positional_only_parameter_named_by_keyword_fails_as_the_call_would():
    ok, failure = invoke_atom(ActionKind.EXECUTE, PositionalOnly("po"), {"a": 1, "b": 2})
    assert not ok
    assert failure.check(TypeError)


def test_a_missing_argument_fails_as_the_call_would():
    ok, failure = invoke_atom(ActionKind.EXECUTE, Positional("p"), {"b": 2})
    assert not ok
    assert failure.check(TypeError) and "'a'" in str(failure.exception)


def test_revert_gets_its_arguments_by_name_too():
    seen = []

    class Undo(Task):
        def execute(self, a):
            return a

        def revert(self, a, result, flow_failures):
            seen.append((a, result, flow_failures))

    kwargs = {"a": 1, "result": 2, "flow_failures": {}}
    _values(invoke_atom(ActionKind.REVERT, Undo("u"), kwargs))
    assert seen == [(1, 2, {})]


# -- run(): the atoms the engine runs itself run in run()'s own frame --------------------------


class Frames(Task):
    def execute(self, x):
        frame, names = sys._getframe(1), []
        while frame is not None:
            names.append(frame.f_code.co_name)
            frame = frame.f_back
        return names


@pytest.mark.parametrize("options", [{}, {"engine": "parallel", "executor": "synchronous"}])
def test_run_runs_the_inline_atoms_outside_the_steps_generators(options):
    """A task waiting in run() keeps the thread's stack shallow (each generator level is a C call)."""
    eng = greenflow.load(LinearFlow("f").add(Frames("t", provides="names")), store={"x": 1}, **options)
    eng.run()
    names = eng.storage.fetch("names")
    assert "run" in names
    assert not {"_run_steps", "_run_with", "_run_inline"} & set(names), names


def test_run_iter_still_runs_the_inline_atoms_in_its_steps():
    eng = greenflow.load(LinearFlow("f").add(Frames("t", provides="names")), store={"x": 1})
    for _ in eng.run_iter():
        pass
    assert "_run_steps" in eng.storage.fetch("names")


def test_an_interrupt_in_an_inline_task_ends_the_run_and_the_engine_can_run_again():
    calls = []

    class Interrupted(Task):
        def execute(self):
            calls.append(1)
            if len(calls) == 1:
                raise KeyboardInterrupt
            return "ok"

    eng = greenflow.load(UnorderedFlow("f").add(Interrupted("t", provides="r")))
    with pytest.raises(KeyboardInterrupt):
        eng.run()
    eng.run()  # not "already running": the interrupted run's steps were closed where it ran
    assert eng.storage.fetch("r") == "ok"
    assert eng.storage.get_flow_state() == "SUCCESS"


def test_an_action_is_what_the_runtime_asks_for():
    action = Action(ActionKind.EXECUTE, 0, Positional("p"), {"a": 1, "b": 2})
    assert _values(invoke_atom(action.kind, action.atom, action.kwargs)) == ("positional", 1, 2, 3)


def test_an_engine_with_an_atom_listener_is_freed_without_the_collector_after_its_run():
    """The run's progress sink (a bound method of the engine) is dropped when the run ends."""
    import gc
    import weakref

    from greenflow.notifier import ANY

    class One(Task):
        def execute(self):
            return 1

    gc.disable()
    try:
        eng = greenflow.load(LinearFlow("f").add(One("t")))
        eng.atom_notifier.register(ANY, lambda *args, **kwargs: None)
        eng.run()
        ref = weakref.ref(eng)
        del eng
        assert ref() is None
    finally:
        gc.enable()

"""How an atom is called: ``invoke_atom`` and the values that cross the engine-executor seam.

The runtime asks for ``Action`` values (execute or revert this atom with
these arguments); whatever runs the atom (the engine inline, an executor's
thread, green thread or process, a remote worker) calls ``invoke_atom`` and
hands back an ``AtomOutcome``. It lives here, beside the atoms, so that every
layer that runs atoms (executors, workers, engines) imports it downwards.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import IntEnum
from functools import partial
from types import MethodType
from typing import Any, Final, NamedTuple

from greenflow.atoms._task import Task, progress_sink
from greenflow.failure import Failure

__all__ = [
    "Action",
    "ActionKind",
    "AtomOutcome",
    "ProgressSink",
    "invoke_atom",
    "invoke_collecting_progress",
]

#: Where a running task's ``update_progress`` reports: ``sink(atom, progress)``.
ProgressSink = Callable[[Any, float], None]


class ActionKind(IntEnum):
    """What an ``Action`` asks for (the value is what crosses process and wire boundaries)."""

    EXECUTE = 0
    REVERT = 1


_EXECUTE: Final = ActionKind.EXECUTE


class Action(NamedTuple):
    """One step the runtime asks for: run ``atom`` (the compiled graph's node ``node``) with ``kwargs``."""

    kind: ActionKind
    node: int
    atom: Any
    kwargs: dict[str, Any]


class AtomOutcome(NamedTuple):
    """How an action ended: ``(True, result)`` or ``(False, Failure)``."""

    ok: bool
    value: Any


# ``_outcome((ok, value))`` makes the same value as ``AtomOutcome(ok, value)`` without the
# Python-level ``__new__`` frame: half the cost, and one is made per atom run.
_outcome: Final = partial(tuple.__new__, AtomOutcome)


# Per method function: ``prefixes[n]`` is the names of its first ``n`` parameters after
# ``self`` that may be given by position or by name (the leading run of them). Bounded, so
# generated classes cannot grow it.
_LEADING: dict[Any, tuple[tuple[str, ...], ...]] = {}
_LEADING_LIMIT: Final = 4096
#: Up to this many arguments, ``_call`` passes them by position when that is the same call.
_MOST_BY_POSITION: Final = 4


def _leading_prefixes(func: Any) -> tuple[tuple[str, ...], ...]:
    """The prefixes of ``func``'s leading positional-or-keyword parameters after its first."""
    try:
        # Not following __wrapped__: a decorator's wrapper takes what it declares, not what it wraps.
        params = list(inspect.signature(func, follow_wrapped=False).parameters.values())
    except (TypeError, ValueError):
        params = []
    names: list[str] = []
    if params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        for p in params[1:]:
            if p.kind is not p.POSITIONAL_OR_KEYWORD:
                break
            names.append(p.name)
    prefixes = tuple(tuple(names[:k]) for k in range(len(names) + 1))
    if len(_LEADING) < _LEADING_LIMIT:
        _LEADING[func] = prefixes
    return prefixes


def _call(method: Any, kwargs: dict[str, Any]) -> Any:
    """``method(**kwargs)``: by position when the names are ``method``'s leading parameters, in order.

    The same call, made cheaper for CPython 3.11: a call with ``**kwargs`` is a
    C-level call (the interpreter recurses, and unpacks the dict into a new
    array), and every green thread waiting inside a task keeps that C stack,
    some 400 bytes per call level, for as long as the task waits.
    """
    n = len(kwargs)
    if 0 < n <= _MOST_BY_POSITION and method.__class__ is MethodType:
        func = method.__func__
        prefixes = _LEADING.get(func)
        if prefixes is None:
            prefixes = _leading_prefixes(func)
        if n < len(prefixes) and tuple(kwargs) == prefixes[n]:
            values = kwargs.values()
            if n == 1:
                (a,) = values
                return method(a)
            if n == 2:
                a, b = values
                return method(a, b)
            if n == 3:
                a, b, c = values
                return method(a, b, c)
            a, b, c, d = values
            return method(a, b, c, d)
    return method(**kwargs)


def invoke_atom(
    kind: int, atom: Any, kwargs: dict[str, Any], sink: ProgressSink | None = None
) -> AtomOutcome:
    """Run an atom's execute (``kind`` 0) or revert (1); never raises an ``Exception``.

    A task's ``pre_``/``post_`` hooks run around the call, and ``sink`` receives
    its progress while it runs. Module-level so that executors (threads,
    processes, green threads) and workers can call it.
    """
    token = progress_sink.set(sink) if sink is not None else None
    try:
        is_task = isinstance(atom, Task)
        if kind == _EXECUTE:
            if is_task:
                atom.pre_execute()
                try:
                    return _outcome((True, _call(atom.execute, kwargs)))
                finally:
                    atom.post_execute()
            return _outcome((True, _call(atom.execute, kwargs)))
        if is_task:
            atom.pre_revert()
            try:
                return _outcome((True, _call(atom.revert, kwargs)))
            finally:
                atom.post_revert()
        return _outcome((True, _call(atom.revert, kwargs)))
    except (Exception, GeneratorExit) as exc:
        # GeneratorExit raised by task code is a failure like any other: let through, it
        # would end a green thread silently and leave its engine waiting for ever.
        return _outcome((False, Failure.from_exception(exc)))
    finally:
        if token is not None:
            progress_sink.reset(token)


def invoke_collecting_progress(
    kind: int, atom: Any, kwargs: dict[str, Any]
) -> tuple[AtomOutcome, list[float]]:
    """``invoke_atom`` where the caller's sink cannot go (another process): the progress comes back too.

    The engine reports the collected progress when the outcome arrives.
    """
    reported: list[float] = []
    outcome = invoke_atom(kind, atom, kwargs, lambda _atom, progress: reported.append(progress))
    return outcome, reported

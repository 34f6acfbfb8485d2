"""The engine-executor seam: how an engine runs atoms on an executor, one ``Starter`` per kind.

An engine asks ``starter_for(executor)`` once, when a run begins, and from
then on calls only ``starter.start(action, sink, done)``: no probing of the
executor per step. ``done(action, raw)`` may be called from any thread (a
pool thread, a green thread, a process pool's manager thread); the engine
queues it and, in its own thread, turns ``raw`` into an ``AtomOutcome`` with
``starter.outcome(action, raw, sink)`` unless ``raw`` already is one.

The kinds, chosen by what the executor is:

* an executor that runs atoms itself (``atom_starter()``, e.g. the remote
  ``greenflow.workers.WorkerExecutor``): its own starter;
* ``GreenExecutor``: ``submit_callback`` (no ``Future`` per atom), and an
  atom alone in its engine runs inline in the engine's green thread
  (``inline_when_alone``): there is nothing to overlap it with;
* a process pool: the progress a task reports in the child comes back with
  its outcome and reaches the listeners in the engine's thread;
* any other ``concurrent.futures``-style executor (``ThreadExecutor``,
  ``OffloadExecutor``, ``SynchronousExecutor``, the standard library's and
  futurist's pools): ``submit()`` and a done callback on the future.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from greenflow.atoms import Action, AtomOutcome, ProgressSink, invoke_atom, invoke_collecting_progress
from greenflow.executors._base import Executor
from greenflow.executors._green import GreenExecutor
from greenflow.failure import Failure

__all__ = ["Done", "FutureStarter", "Starter", "starter_for"]

#: Called when an action ends: ``done(action, raw)``, ``raw`` an ``AtomOutcome`` or what ``outcome`` reads.
Done = Callable[[Action, Any], None]


class Starter(Protocol):
    """How one engine run starts atoms on one executor (see the module docstring)."""

    #: Run an action inline, in the engine, when nothing else of the engine runs.
    inline_when_alone: bool

    def start(self, action: Action, sink: ProgressSink | None, done: Done) -> None:
        """Start ``action``; call ``done(action, raw)`` when it ends. May raise if the executor refuses it."""

    def outcome(self, action: Action, raw: Any, sink: ProgressSink | None) -> AtomOutcome:
        """The outcome ``raw`` stands for, read in the engine's thread (never raises)."""


class FutureStarter:
    """Any executor with ``submit()``: one future per atom, read when it is done."""

    __slots__ = ("_submit",)
    inline_when_alone = False

    def __init__(self, executor: Executor) -> None:
        self._submit = executor.submit

    def start(self, action: Action, sink: ProgressSink | None, done: Done) -> None:
        """Submit ``invoke_atom`` for ``action``; its future is ``done``'s ``raw``."""
        future = self._submit(invoke_atom, action.kind, action.atom, action.kwargs, sink)
        future.add_done_callback(lambda f: done(action, f))

    def outcome(self, action: Action, raw: Any, sink: ProgressSink | None) -> AtomOutcome:
        """The future's ``AtomOutcome``; a failure when the executor itself failed."""
        return _read(raw)  # type: ignore[no-any-return]


class _GreenStarter:
    __slots__ = ("_submit",)
    inline_when_alone = True

    def __init__(self, executor: GreenExecutor) -> None:
        self._submit = executor.submit_callback

    def start(self, action: Action, sink: ProgressSink | None, done: Done) -> None:
        if sink is None:  # nothing listens for progress: the action itself is the call's arguments
            self._submit(_invoke_action, action, done, action)
        else:
            self._submit(_invoke_with_sink, (action, sink), done, action)

    def outcome(self, action: Action, raw: Any, sink: ProgressSink | None) -> AtomOutcome:
        return raw  # type: ignore[no-any-return]  # always an AtomOutcome already


class _ProcessStarter:
    __slots__ = ("_submit",)
    inline_when_alone = False

    def __init__(self, executor: ProcessPoolExecutor) -> None:
        self._submit = executor.submit

    def start(self, action: Action, sink: ProgressSink | None, done: Done) -> None:
        # The engine's sink cannot cross to another process: the progress comes back with the outcome.
        if sink is None:
            future: Future[Any] = self._submit(invoke_atom, action.kind, action.atom, action.kwargs)
        else:
            future = self._submit(invoke_collecting_progress, action.kind, action.atom, action.kwargs)
        future.add_done_callback(lambda f: done(action, f))

    def outcome(self, action: Action, raw: Any, sink: ProgressSink | None) -> AtomOutcome:
        outcome = _read(raw)
        if sink is not None and outcome.__class__ is not AtomOutcome:
            reported: list[float]
            outcome, reported = outcome
            for progress in reported:
                sink(action.atom, progress)
        return outcome  # type: ignore[no-any-return]


def _invoke_action(action: Action) -> AtomOutcome:
    """``invoke_atom`` for an ``Action``: no argument tuple per atom in flight."""
    return invoke_atom(action.kind, action.atom, action.kwargs)


def _invoke_with_sink(packed: tuple[Action, ProgressSink]) -> AtomOutcome:
    """``invoke_atom`` for an ``Action`` whose progress goes to a sink."""
    action, sink = packed
    return invoke_atom(action.kind, action.atom, action.kwargs, sink)


def _read(future: Future[Any]) -> Any:
    try:
        return future.result()
    except Exception as exc:  # the executor itself failed (a broken process pool, an unpicklable result)
        return AtomOutcome(False, Failure.from_exception(exc))


def starter_for(executor: Executor) -> Starter:
    """The ``Starter`` for ``executor``'s kind (see the module docstring)."""
    own = getattr(executor, "atom_starter", None)
    if own is not None:
        return own()  # type: ignore[no-any-return]
    if isinstance(executor, GreenExecutor):
        # Stateless: one per executor, not one per engine run (many engines share one pool).
        starter = executor._starter
        if starter is None:
            starter = executor._starter = _GreenStarter(executor)
        return starter  # type: ignore[no-any-return]
    if isinstance(executor, ProcessPoolExecutor):
        return _ProcessStarter(executor)
    return FutureStarter(executor)

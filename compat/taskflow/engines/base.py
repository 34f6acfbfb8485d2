"""``taskflow.engines.base.Engine``: TaskFlow's engine surface over a greenflow ``Engine``.

A thin wrapper: ``run(timeout=)``, ``run_iter(timeout=)``, ``statistics`` as a
dict and ``options`` as TaskFlow's option dict; everything else is the greenflow
engine's own (``notifier``, ``atom_notifier``, ``compile()``, ``prepare()``,
``validate()``, ``suspend()``, ``reset()``). ``storage`` is TaskFlow's
``taskflow.storage.Storage`` over the engine's records.
"""

from __future__ import annotations

import functools
import itertools
import weakref
from collections.abc import Generator, Mapping
from typing import Any, ClassVar

from greenflow import states
from greenflow.atoms import EVENT_UPDATE_PROGRESS, Task
from greenflow.compiler import RETRY as _RETRY
from greenflow.engines import WAITING as _WAITING
from taskflow.storage import Storage

__all__ = ["Compilation", "Engine", "Storage"]

_RESUMING = "RESUMING"  # TaskFlow's first engine state


class Compilation:
    """TaskFlow's ``engine.compilation``: greenflow's compiled flow plus ``execution_graph``."""

    def __init__(self, name: str, compiled: Any, atoms: Mapping[str, Any]) -> None:
        self._name = name  # the flow's (a compiled graph is shared by flows named apart)
        self._compiled = compiled
        self._atoms = atoms  # compiled nodes are shared by structure and hold names, not atoms
        self._graph: Any = None

    @property
    def execution_graph(self) -> Any:
        """The atoms and their ordering as a networkx ``DiGraph`` (``taskflow.types.graph``).

        Nodes are the atom objects, each with ``kind`` (``'task'`` or ``'retry'``);
        greenflow's join nodes are folded into direct edges between atoms.
        """
        if self._graph is None:
            from taskflow.types.graph import DiGraph

            nodes = self._compiled.nodes
            atoms = set(self._compiled.atoms)
            graph = DiGraph(name=self._name)
            for i in self._compiled.atoms:
                node = nodes[i]
                graph.add_node(self._atoms[node.name], kind="retry" if node.kind == _RETRY else "task")
            for i in self._compiled.atoms:
                seen: set[int] = set()
                stack = list(nodes[i].succs)
                while stack:
                    j = stack.pop()
                    if j in seen:
                        continue
                    seen.add(j)
                    if j in atoms:
                        graph.add_edge(self._atoms[nodes[i].name], self._atoms[nodes[j].name])
                    else:
                        stack.extend(nodes[j].succs)
            self._graph = graph.freeze()
        return self._graph

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compiled, name)


#: The engines that progress recorders report to, by key (a recorder pickled into another
#: process finds none there, and does nothing).
_RECORDING: weakref.WeakValueDictionary[int, Engine] = weakref.WeakValueDictionary()
_KEYS = itertools.count()


class _ProgressRecorder:
    """Registered on a running task's notifier: hands its progress events to the engine.

    It holds a key, not the engine, so a task holding it can still be pickled
    (process executors send the task to another process).
    """

    __slots__ = ("key", "name")

    def __init__(self, key: int, name: str) -> None:
        self.key = key
        self.name = name

    def __call__(self, event: str, details: Mapping[str, Any]) -> None:
        engine = _RECORDING.get(self.key)
        if engine is not None and "progress" in details:
            extra = {k: v for k, v in details.items() if k != "progress"}
            engine._set_progress(self.name, details["progress"], extra)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ProgressRecorder) and (other.key, other.name) == (self.key, self.name)

    def __hash__(self) -> int:
        return hash((self.key, self.name))


def _atoms_by_name(flow: Any) -> dict[str, Any]:
    # A function of the flow, not a method: the storage must not keep the engine wrapper alive.
    return {a.name: a for a in flow.iter_atoms()} if flow is not None else {}


class Engine:
    """TaskFlow's engine API over a greenflow engine (``engine.greenflow_engine``)."""

    #: Whether tasks run on the very atom objects of the flow (not on copies elsewhere, as
    #: on remote workers): a task's own notifier then hears its progress from the task.
    _runs_atoms_here: ClassVar[bool] = True

    def __init__(self, engine: Any, options: Mapping[str, Any], flow: Any = None, given: Any = None) -> None:
        self._engine = engine
        self._options = dict(options)
        self._storage = Storage._of_engine(engine, functools.partial(_atoms_by_name, flow))
        self._tasks: dict[str, Any] | None = None
        self._run_flow = flow  # the flow greenflow runs (a lone atom given is wrapped in one)
        # TaskFlow's engine._flow: what load() was given, an atom or a flow.
        self._flow = given if given is not None else flow
        self._compilation: Compilation | None = None
        #: Why this engine cannot run, raised when it compiles (TaskFlow loads such a flow and
        #: refuses it then): set by ``load()`` for a retry given as the whole flow.
        self._refusal: Exception | None = None
        # TaskFlow reports progress 0.0 when a task starts and 1.0 when it ends, on the
        # task's own notifier, and keeps the latest progress in the task detail's meta;
        # what the task reports while it executes (update_progress(), or a notify() of
        # its own with details) is kept with those details (meta['progress_details']).
        self._key = next(_KEYS)
        _RECORDING[self._key] = self
        notifier = engine.atom_notifier
        notifier.register(EVENT_UPDATE_PROGRESS, self._record_progress)
        for state in (states.RUNNING, states.SUCCESS, states.FAILURE):
            notifier.register(state, self._report_progress)

    def _task(self, name: str) -> Any:
        if self._tasks is None:
            atoms = self._run_flow.iter_atoms() if self._run_flow is not None else ()
            self._tasks = {a.name: a for a in atoms if isinstance(a, Task)}
        return self._tasks.get(name)

    def _set_progress(self, name: str, progress: Any, details: Mapping[str, Any] | None) -> None:
        """Keep ``progress`` in the task detail's meta, with ``details`` unless ``None`` (TaskFlow's layout).

        In place: the detail is written with the task's next transition (a write from
        here could race the engine's own, from the task's thread).
        """
        detail = self._engine.storage.flow_detail.find_by_name(name)
        if detail is None:
            return
        detail.meta["progress"] = progress
        if details is not None:
            detail.meta["progress_details"] = (
                {"at_progress": progress, "details": dict(details)} if details else None
            )

    def _record_progress(self, event: str, details: Mapping[str, Any]) -> None:
        # update_progress(p) of a running task: TaskFlow records it with no details.
        self._set_progress(details["task_name"], details["progress"], {})
        if not self._runs_atoms_here:
            # The task ran elsewhere: its progress reaches the flow's task object only from here.
            task = self._task(details["task_name"])
            if task is not None and task._notifier:
                task.notifier.notify(EVENT_UPDATE_PROGRESS, {"progress": details["progress"]})

    def _report_progress(self, state: str, details: Mapping[str, Any]) -> None:
        name = details.get("task_name")
        if name is None:
            return
        progress = 0.0 if state == states.RUNNING else 1.0
        self._set_progress(name, progress, None)
        task = self._task(name)
        if task is None:
            return
        recorder = _ProgressRecorder(self._key, name)
        if state != states.RUNNING and task._notifier:
            task.notifier.deregister(EVENT_UPDATE_PROGRESS, recorder)
        if task._notifier:
            task.notifier.notify(EVENT_UPDATE_PROGRESS, {"progress": progress})
        if state == states.RUNNING and not task.notifier.is_registered(EVENT_UPDATE_PROGRESS, recorder):
            task.notifier.register(EVENT_UPDATE_PROGRESS, recorder)

    def compile(self) -> Any:
        """Compile the flow (greenflow's ``Engine.compile()``)."""
        if self._refusal is not None:
            raise self._refusal
        return self._engine.compile()

    def prepare(self) -> None:
        """Create the storage records of every atom (compiling first)."""
        self.compile()
        self._engine.prepare()

    def validate(self) -> None:
        """Check that every requirement nothing provides has been injected (compiling first)."""
        self.compile()
        self._engine.validate()

    @property
    def compilation(self) -> Compilation:
        """The compiled flow (``execution_graph`` is a networkx ``DiGraph``, as in TaskFlow)."""
        compiled = self.compile()
        if self._compilation is None or self._compilation._compiled is not compiled:
            atoms = _atoms_by_name(self._run_flow)
            self._compilation = Compilation(self._run_flow.name, compiled, atoms)
        return self._compilation

    @property
    def _task_executor(self) -> Any:
        """The kind of TaskFlow task executor this engine stands for (its tests check it)."""
        from taskflow.engines.action_engine.executor import kind_of

        given = self._options.get("executor")  # as given: compat may run it through another
        if isinstance(given, str):
            from taskflow.engines.helpers import ALIASES

            given = ALIASES["executor"].get(given.lower(), given)
        return kind_of(self._engine.options.engine, given)

    @property
    def greenflow_engine(self) -> Any:
        """The greenflow ``Engine`` this wraps."""
        return self._engine

    @property
    def storage(self) -> Storage:
        """The engine's storage (``fetch``, ``fetch_all``, ``inject``, ``get_atom_state``, ...)."""
        return self._storage

    @property
    def options(self) -> dict[str, Any]:
        """The options the engine was loaded with (TaskFlow's names)."""
        return dict(self._options)

    @property
    def statistics(self) -> dict[str, Any]:
        """Counters of this engine, as a dict."""
        stats = self._engine.statistics
        return {
            "runs": stats.runs,
            "atoms_executed": stats.atoms_executed,
            "atoms_reverted": stats.atoms_reverted,
            "last_state": stats.last_state,
        }

    def run(self, timeout: float | None = None) -> None:
        """Run the flow to its end (``timeout`` is accepted for TaskFlow's signature; see README)."""
        self.compile()
        self._engine.run()

    def run_iter(self, timeout: float | None = None) -> Generator[str, Any, None]:
        """Run step by step, yielding TaskFlow's engine states, then the flow's end state.

        ``RESUMING`` first, then for each round of atoms ``SCHEDULING``,
        ``WAITING`` and ``ANALYZING``, then ``SUCCESS``, ``REVERTED`` or
        ``SUSPENDED`` (a failure is raised). As in TaskFlow the iterator waits
        for running atoms itself (at most ``timeout`` seconds at a time), so a
        caller that just iterates never spins, and ``send(True)`` asks the
        engine to suspend.
        """
        self.compile()
        engine = self._engine
        steps = engine.run_iter(steps=True)
        last = None
        state = next(steps, None)
        while state is not None:
            if not (state == last == _WAITING):  # one WAITING a round, however often it woke
                try:
                    suspend = yield (_RESUMING if state == states.RUNNING else state)
                except Exception as exc:
                    # Thrown in by the caller (TaskFlow's run_iter().throw()): it ends the
                    # engine's run there, which records the flow FAILURE and re-raises it.
                    steps.throw(exc)
                    raise
                if suspend:
                    engine.suspend()
            last = state
            if state == _WAITING:
                engine.wait_step(timeout)
            state = next(steps, None)

    #: TaskFlow's older name of ``run_iter``.
    iter_run = run_iter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def __repr__(self) -> str:
        return f"<taskflow.engines.base.Engine of {self._engine!r}>"

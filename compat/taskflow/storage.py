"""``taskflow.storage.Storage``: TaskFlow's storage API over greenflow's ``Storage`` and logbook model.

It works on its own, as TaskFlow's tools and tests use it: ``Storage(flow_detail,
backend=...)``, then ``ensure_atom()`` each atom and ``save()``, ``get()``,
``fetch()``, ``inject()``... And it is what ``engine.storage`` is for an engine
loaded through ``taskflow.engines``: there the atoms and what they provide come
from the compiled flow and the records are the engine's own, so what a caller
saves or sets before ``run()`` is what the run starts (or resumes) from.

TaskFlow's semantics, kept here and not in greenflow's core:

* ``fetch(name)`` returns the *first* value found for ``name``: injected values
  first, then the atoms' results in flow order (greenflow's ``Storage.fetch``
  returns the latest provider's); ``fetch_all()`` maps a name several providers
  gave to the list of their values.
* ``save(atom, result, state)`` files ``result`` by state: a task's result or
  failure (``SUCCESS``/``FAILURE``), a revert's (``REVERTED``/``REVERT_FAILURE``);
  a retry's ``SUCCESS`` appends an attempt to its history.
* ``get()`` is the execute result (or its ``Failure``), ``get_revert_result()``
  the revert's; both raise ``NotFound`` when the atom has none yet.
* Unknown atom names raise ``NotFound`` starting ``Unknown atom``, unknown
  symbols ``Name ... is not mapped``, missing results ``Unable to find result``,
  as TaskFlow's do (callers match on them).

Injected values: an engine's storage keeps greenflow's layout (``meta['injected']``
of the flow detail, or the ``_TaskFlow_INJECTOR`` atom detail of a record TaskFlow
wrote); a storage used on its own writes TaskFlow's (that atom detail), which
greenflow's engines read too. ``save(injector_name, values)`` replaces the persisted
injected values, in either layout, as it does in TaskFlow. Values injected into one
atom (``inject_atom_args``) exist only in a storage used on its own: an engine takes
an atom's own values from its ``inject=``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from greenflow import states
from greenflow.atoms import History, Retry
from greenflow.compiler import ARG_FROM_ATOM, ARG_FROM_INJECT, ARG_FROM_STORE
from greenflow.exceptions import DuplicateNameError, InvalidOptionError, NotFoundError
from greenflow.failure import Failure
from greenflow.hubs import resolve_hub
from greenflow.persistence import AtomDetail, FlowDetail, LogBook, RetryDetail, TaskDetail
from greenflow.storage import Storage as _CoreStorage

__all__ = ["Storage"]

#: The name of the logbook holding the flow detail of a storage given no backend (TaskFlow's
#: temporary logbooks are named so).
_OWN_BOOK: Final = "tmp"
#: TaskFlow's name of the atom detail holding a flow's injected values.
INJECTOR_NAME: Final = "_TaskFlow_INJECTOR"
#: Meta keys of a task's progress (TaskFlow's names: its records read the same).
_PROGRESS: Final = "progress"
_PROGRESS_DETAILS: Final = "progress_details"
#: Meta key of the values injected into one atom (``inject_atom_args``), persisted ones.
_ATOM_INJECTED: Final = "injected"
#: Meta key of the flow detail where greenflow's storage keeps the persisted injected values.
_CORE_INJECTED: Final = "injected"
#: States in which an atom's execute result (or failure) is kept.
_EXECUTE_RESULT_STATES: Final = frozenset(
    {
        states.SUCCESS,
        states.FAILURE,
        states.REVERTING,
        states.REVERTED,
        states.REVERT_FAILURE,
        states.RETRYING,
    }
)
_SAVE_STATES: Final = (states.SUCCESS, states.FAILURE, states.REVERTED, states.REVERT_FAILURE)

_Providers = dict[str, list[tuple[str, Any]]]  # symbol -> [(atom name, key or None), ...] in flow order


def _first(values: Sequence[Any]) -> Any:
    return values[0]


def _one_or_all(values: Sequence[Any]) -> Any:
    return values[0] if len(values) == 1 else list(values)


class Storage:
    """One flow detail's atoms, results and injected values, with TaskFlow's method names.

    ``Storage(flow_detail, backend=None)``: ``backend`` is the persistence backend
    the records are written to (``None``: kept in memory only).
    """

    def __init__(self, flow_detail: FlowDetail, backend: Any = None, scope_fetcher: Any = None) -> None:
        if not isinstance(flow_detail, FlowDetail):
            raise InvalidOptionError(
                f"Storage() needs a flow detail (taskflow.persistence.models.FlowDetail), "
                f"got {type(flow_detail).__name__} {flow_detail!r}"
            )
        if scope_fetcher is not None:
            raise InvalidOptionError(
                "Storage(scope_fetcher=) is not supported: what an atom sees is its engine's "
                "(use engine.storage.fetch_mapped_args(..., atom_name=))"
            )
        self._core = _CoreStorage(flow_detail, backend)
        self._engine: Any = None
        self._atoms_of_engine: Mapping[str, Any] = {}
        # A storage used on its own learns its atoms from ensure_atom(), in call order.
        self._order: list[str] = []
        self._save_as: dict[str, tuple[tuple[str, Any], ...]] = {}
        self._atom_transient: dict[str, dict[str, Any]] = {}
        #: The failures saved through this storage, ``{atom name: {intention: Failure}}``: the live
        #: ones (with their traceback) win over a record's, which may have been read back from a backend.
        self._failures: dict[str, dict[str, Failure]] = {}
        # From the hub: a write under it may wait on a database, which switches green threads.
        self._lock = resolve_hub(None).Lock()
        self._own_backend: Any = None  # the ``backend`` of a storage given none, once asked for

    @classmethod
    def _of_engine(cls, engine: Any, atoms: Callable[[], Mapping[str, Any]]) -> Storage:
        """The storage of a greenflow ``engine``; ``atoms()`` maps its atoms' names to the atoms."""
        self = cls.__new__(cls)
        self._core = engine.storage
        self._engine = engine
        self._atoms_of_engine = _LazyMap(atoms)
        self._order, self._save_as, self._atom_transient = [], {}, {}
        self._failures = {}
        self._lock = engine.hub.Lock()
        self._own_backend = None
        return self

    # -- the flow ----------------------------------------------------------------------------

    @property
    def flow_detail(self) -> FlowDetail:
        """The flow detail this storage reads and writes."""
        return self._core.flow_detail  # type: ignore[no-any-return]

    _flowdetail = flow_detail

    @property
    def backend(self) -> Any:
        """The persistence backend records are written to.

        A storage given none has, as in TaskFlow, an in-memory backend of its own
        holding its flow detail (made when first asked for; it writes nothing).
        """
        backend = self._core.backend
        if backend is not None:
            return backend
        if self._own_backend is None:
            from taskflow.persistence.backends.impl_memory import MemoryBackend

            book = LogBook(_OWN_BOOK)
            book.add(self.flow_detail)
            self._own_backend = MemoryBackend()
            self._own_backend.save_logbook(book)
        return self._own_backend

    @property
    def flow_name(self) -> str:
        """The flow detail's name."""
        return self.flow_detail.name

    @property
    def flow_uuid(self) -> str:
        """The flow detail's uuid."""
        return self.flow_detail.uuid

    @property
    def flow_meta(self) -> dict[str, Any]:
        """The flow detail's meta."""
        return self.flow_detail.meta

    @property
    def injector_name(self) -> str:
        """The name of the atom detail where TaskFlow keeps injected values."""
        return INJECTOR_NAME

    def get_flow_state(self) -> str:
        """The flow's state (``PENDING`` for a flow that never ran)."""
        return self.flow_detail.state or states.PENDING

    def set_flow_state(self, state: str) -> None:
        """Set and persist the flow's state."""
        _check_state(state, "flow state")
        with self._lock:
            self.flow_detail.state = state
            self._core.save_flow()
            self._changed()

    def update_flow_metadata(self, update: Mapping[str, Any] | None) -> None:
        """Merge ``update`` into the flow detail's meta and persist it."""
        if update:
            with self._lock:
                self.flow_detail.meta.update(update)
                self._core.save_flow()

    # -- atoms -------------------------------------------------------------------------------

    def ensure_atom(self, atom: Any) -> str:
        """Create the record of ``atom`` (a task or retry) unless it exists; return its uuid.

        An existing record of the other kind (a task's for a retry) is a ``Duplicate``.
        """
        name = getattr(atom, "name", None)
        if not isinstance(name, str):
            raise InvalidOptionError(
                f"ensure_atom() needs a task or retry, got {type(atom).__name__} {atom!r}"
            )
        wanted = RetryDetail if isinstance(atom, Retry) else TaskDetail
        with self._lock:
            fd = self.flow_detail
            detail = fd.find_by_name(name)
            if detail is None:
                if self._engine is not None:
                    raise InvalidOptionError(
                        f"atom {name!r} is not in the engine's flow {self.flow_name!r}: an engine's "
                        f"storage holds the records of its flow's atoms (made by engine.prepare())"
                    )
                detail = wanted(name)
                detail.version = getattr(atom, "version", None)
                fd.add(detail)
                self._core.save_flow()  # stores the flow detail's new atom detail with it
            elif type(detail) is not wanted:
                raise DuplicateNameError(
                    f"Atom detail {name!r} already exists in flow detail {fd.name!r} as a "
                    f"{detail.kind} record; a {wanted.kind} named {name!r} cannot use it"
                )
            if self._engine is None and name not in self._save_as:
                self._order.append(name)
                self._save_as[name] = tuple(getattr(atom, "save_as", {}).items())
        return detail.uuid

    def ensure_atoms(self, atoms: Iterable[Any]) -> list[str]:
        """``ensure_atom`` each of ``atoms``; their uuids, in order."""
        return [self.ensure_atom(atom) for atom in atoms]

    def _detail(self, atom_name: str) -> AtomDetail:
        detail = self.flow_detail.find_by_name(atom_name)
        if detail is None or (atom_name == INJECTOR_NAME and self._engine is not None):
            known = sorted(d.name for d in self.flow_detail if d.name != INJECTOR_NAME)
            raise NotFoundError(
                f"Unknown atom name {atom_name!r}: flow detail {self.flow_name!r} has no record of it "
                f"(its atoms: {', '.join(map(repr, known)) or 'none'})"
            )
        return detail

    def _retry_detail(self, retry_name: str) -> RetryDetail:
        detail = self._detail(retry_name)
        if not isinstance(detail, RetryDetail):
            raise NotFoundError(
                f"Unknown retry name {retry_name!r}: atom {retry_name!r} is a task, not a retry"
            )
        return detail

    def get_atom_uuid(self, atom_name: str) -> str:
        """The uuid of the named atom's record."""
        return self._detail(atom_name).uuid

    def get_atom_state(self, atom_name: str) -> str:
        """The named atom's state."""
        return self._detail(atom_name).state

    def set_atom_state(self, atom_name: str, state: str) -> None:
        """Set and persist the named atom's state."""
        _check_state(state, "atom state")
        with self._lock:
            detail = self._detail(atom_name)
            detail.state = state
            self._save(detail)

    def get_atom_intention(self, atom_name: str) -> str:
        """The named atom's intention (``EXECUTE``, ``REVERT``, ``RETRY`` or ``IGNORE``)."""
        return self._detail(atom_name).intention

    def set_atom_intention(self, atom_name: str, intention: str) -> None:
        """Set and persist the named atom's intention."""
        if intention not in (states.EXECUTE, states.REVERT, states.RETRY, states.IGNORE):
            raise InvalidOptionError(
                f"unknown intention {intention!r} for atom {atom_name!r} "
                f"(expected EXECUTE, REVERT, RETRY or IGNORE)"
            )
        with self._lock:
            detail = self._detail(atom_name)
            detail.intention = intention
            self._save(detail)

    def get_atoms_states(self, atom_names: Iterable[str]) -> dict[str, tuple[str, str]]:
        """``{name: (state, intention)}`` of the named atoms."""
        out = {}
        for name in atom_names:
            detail = self._detail(name)
            out[name] = (detail.state, detail.intention)
        return out

    def update_atom_metadata(self, atom_name: str, update: Mapping[str, Any] | None) -> None:
        """Merge ``update`` into the named atom's meta and persist it (``None``: nothing to merge)."""
        with self._lock:
            detail = self._detail(atom_name)
            if update:
                detail.meta.update(update)
                self._core.save_atom(detail)

    def _save(self, detail: AtomDetail) -> None:
        self._core.save_atom(detail)
        self._changed()

    def _changed(self) -> None:
        # An engine that prepared a brand-new flow skips reading its records when it
        # starts; after a caller changed them it must read them (a resume, in effect).
        self._core.created_all = False

    # -- results ------------------------------------------------------------------------------

    def save(self, atom_name: str, result: Any, state: str = states.SUCCESS) -> None:
        """Record ``result`` of the named atom and put it in ``state``.

        ``SUCCESS``: the execute result (a retry's is appended to its history);
        ``FAILURE``: the execute ``Failure``; ``REVERTED``: the revert result;
        ``REVERT_FAILURE``: the revert ``Failure``.
        """
        if state not in _SAVE_STATES:
            raise InvalidOptionError(
                f"save() of atom {atom_name!r}: state {state!r} records no result "
                f"(expected one of {', '.join(_SAVE_STATES)}; use set_atom_state() for others)"
            )
        failed = state in (states.FAILURE, states.REVERT_FAILURE)
        if failed != isinstance(result, Failure):
            raise InvalidOptionError(
                f"save() of atom {atom_name!r} in state {state}: "
                + ("a failure state records a Failure" if failed else "a Failure is saved in state FAILURE")
                + f", got {type(result).__name__} {result!r:.200}"
            )
        with self._lock:
            if atom_name == INJECTOR_NAME and self.flow_detail.find_by_name(INJECTOR_NAME) is None:
                self._save_injected(result, state)
                return
            detail = self._detail(atom_name)
            if not failed:
                problem = self._core.unsaveable(atom_name, result)
                if problem is not None:
                    problem.reraise()
            if state == states.SUCCESS:
                if isinstance(detail, RetryDetail):
                    detail.results.append((result, {}))
                else:
                    detail.results = result
                detail.failure = None
                self._failures.pop(atom_name, None)
            elif state == states.FAILURE:
                detail.failure = result
                self._failures.setdefault(atom_name, {})[states.EXECUTE] = result
            elif state == states.REVERTED:
                detail.revert_results = result
                detail.revert_failure = None
            else:
                detail.revert_failure = result
                self._failures.setdefault(atom_name, {})[states.REVERT] = result
            detail.state = state
            self._save(detail)

    def _save_injected(self, values: Any, state: str) -> None:
        """``save(injector_name, values)`` where greenflow keeps them: they replace the persisted ones."""
        if state != states.SUCCESS or not isinstance(values, Mapping):
            raise InvalidOptionError(
                f"save() of {INJECTOR_NAME!r} records the injected values: a dict in state SUCCESS, "
                f"got {type(values).__name__} {values!r:.200} in state {state}"
            )
        self.flow_detail.meta.pop(_CORE_INJECTED, None)
        if values:
            self._core.inject(values)
        else:
            self._core.save_flow()

    def _failure(self, detail: AtomDetail, intention: str) -> Failure | None:
        stored = detail.failure if intention == states.EXECUTE else detail.revert_failure
        if stored is None:
            return None
        cached = self._failures.get(detail.name, {}).get(intention)
        return cached if cached is not None and cached.matches(stored) else stored

    def _execute_result(self, detail: AtomDetail) -> tuple[bool, Any]:
        """``(True, result or Failure)`` when the atom has an execute outcome, else ``(False, None)``."""
        failure = self._failure(detail, states.EXECUTE)
        if failure is not None:
            return True, failure
        if detail.intention != states.EXECUTE and detail.state != states.SUCCESS:
            return False, None
        if detail.state not in _EXECUTE_RESULT_STATES:
            return False, None
        if isinstance(detail, RetryDetail):
            return (True, detail.results[-1][0]) if detail.results else (False, None)
        return True, detail.results

    def get(self, atom_name: str) -> Any:
        """The named atom's execute result, or its ``Failure``; ``NotFound`` if it has none yet."""
        detail = self._detail(atom_name)
        found, value = self._execute_result(detail)
        if not found:
            raise NotFoundError(
                f"Result for atom {atom_name!r} is not available: it is {detail.state} "
                f"(intention {detail.intention})"
            )
        return value

    get_execute_result = get

    def get_revert_result(self, atom_name: str) -> Any:
        """What the named atom's revert returned, or its ``Failure``; ``NotFound`` if it did not revert."""
        detail = self._detail(atom_name)
        failure = self._failure(detail, states.REVERT)
        if failure is not None:
            return failure
        if detail.state != states.REVERTED:
            raise NotFoundError(
                f"Revert result for atom {atom_name!r} is not available: it is {detail.state} "
                f"(intention {detail.intention})"
            )
        return detail.revert_results

    def get_execute_failures(self) -> dict[str, Failure]:
        """``{atom name: Failure}`` of every atom whose execute failed."""
        out = {}
        for detail in self.flow_detail:
            failure = self._failure(detail, states.EXECUTE)
            if failure is not None:
                out[detail.name] = failure
        return out

    get_failures = get_execute_failures

    def get_revert_failures(self) -> dict[str, Failure]:
        """``{atom name: Failure}`` of every atom whose revert failed."""
        out = {}
        for detail in self.flow_detail:
            failure = self._failure(detail, states.REVERT)
            if failure is not None:
                out[detail.name] = failure
        return out

    def has_failures(self) -> bool:
        """Whether any atom's execute or revert failed."""
        return any(d.failure is not None or d.revert_failure is not None for d in self.flow_detail)

    def reset(self, atom_name: str, state: str = states.PENDING) -> None:
        """Forget the atom's results and failures, and put it in ``state`` (a retry keeps its history)."""
        _check_state(state, "atom state")
        with self._lock:
            detail = self._detail(atom_name)
            detail.reset(state)
            self._failures.pop(atom_name, None)
            self._save(detail)

    # -- progress ------------------------------------------------------------------------------

    def set_task_progress(
        self, task_name: str, progress: float, details: Mapping[str, Any] | None = None
    ) -> None:
        """Record a task's progress (0.0 to 1.0) and, when given, the details reported with it.

        Details that are given replace the previous ones (an empty mapping erases them);
        ``None`` keeps them.
        """
        if not isinstance(progress, (int, float)) or not 0.0 <= progress <= 1.0:
            raise InvalidOptionError(
                f"progress of task {task_name!r} must be between 0.0 and 1.0, got {progress!r}"
            )
        with self._lock:
            detail = self._detail(task_name)
            detail.meta[_PROGRESS] = progress
            if details is not None:
                detail.meta[_PROGRESS_DETAILS] = (
                    {"at_progress": progress, "details": dict(details)} if details else None
                )
            self._core.save_atom(detail)

    def get_task_progress(self, task_name: str) -> float:
        """The task's last recorded progress (0.0 before any)."""
        return float(self._detail(task_name).meta.get(_PROGRESS, 0.0))

    def get_task_progress_details(self, task_name: str) -> dict[str, Any] | None:
        """``{'at_progress': p, 'details': {...}}`` of the last progress given details (or ``None``)."""
        return self._detail(task_name).meta.get(_PROGRESS_DETAILS)  # type: ignore[no-any-return]

    # -- retries -------------------------------------------------------------------------------

    def get_retry_history(self, retry_name: str) -> History:
        """The named retry's attempts ``[(result, {atom name: Failure}), ...]`` and its own failure."""
        detail = self._retry_detail(retry_name)
        return History(detail.results, self._failure(detail, states.EXECUTE))

    def get_retry_histories(self) -> list[tuple[str, History]]:
        """``(retry name, history)`` of every retry."""
        return [
            (d.name, History(d.results, self._failure(d, states.EXECUTE)))
            for d in self.flow_detail
            if isinstance(d, RetryDetail)
        ]

    def save_retry_failure(self, retry_name: str, failed_atom_name: str, failure: Failure) -> None:
        """Add the failure of ``failed_atom_name`` to the retry's current attempt (kept if already there)."""
        if not isinstance(failure, Failure):
            raise InvalidOptionError(
                f"save_retry_failure() of retry {retry_name!r}: expected a Failure for atom "
                f"{failed_atom_name!r}, got {type(failure).__name__} {failure!r:.200}"
            )
        with self._lock:
            detail = self._retry_detail(retry_name)
            if not detail.results:
                detail.results.append((None, {}))
            failures = detail.results[-1][1]
            if failed_atom_name not in failures:
                failures[failed_atom_name] = failure
                self._save(detail)

    def cleanup_retry_history(self, retry_name: str, state: str) -> None:
        """Forget the retry's history and put it in ``state``."""
        _check_state(state, "atom state")
        with self._lock:
            detail = self._retry_detail(retry_name)
            detail.results = []
            detail.state = state
            self._save(detail)

    # -- injected values --------------------------------------------------------------------------

    def inject(self, pairs: Mapping[str, Any] | Iterable[tuple[str, Any]], transient: bool = False) -> None:
        """Add values any atom can require by name (``transient``: kept in this process only).

        A storage used on its own keeps persisted values where TaskFlow does, in the
        ``_TaskFlow_INJECTOR`` atom detail (made on first use), unless its flow detail
        already holds greenflow's injected values; an engine's storage keeps greenflow's layout.
        """
        values = dict(pairs)
        with self._lock:
            fd = self.flow_detail
            if transient or self._engine is not None or "injected" in fd.meta:
                self._core.inject(values, transient=transient)
                return
            for key in values:
                if not isinstance(key, str):
                    raise InvalidOptionError(f"injected names must be strings, got {key!r} in {values!r}")
            problem = self._core.unsaveable(INJECTOR_NAME, values, what="injected value")
            if problem is not None:
                problem.reraise()
            injector = fd.find_by_name(INJECTOR_NAME)
            if injector is None:
                injector = TaskDetail(INJECTOR_NAME)
                injector.state = states.SUCCESS
                injector.results = values
                fd.add(injector)
                self._core.save_flow()  # stores the new atom detail with the flow detail
                return
            if not isinstance(injector.results, dict):
                raise InvalidOptionError(
                    f"flow detail {fd.name!r}: its {INJECTOR_NAME!r} atom detail holds "
                    f"{type(injector.results).__name__} {injector.results!r:.100}, not the injected values"
                )
            injector.results = {**injector.results, **values}
            self._core.save_atom(injector)

    def _lookup_injected(self, name: str) -> tuple[bool, Any]:
        found = self._core.lookup_injected(name)
        if found[0] or self._engine is not None:
            return found  # type: ignore[no-any-return]
        # An injector this storage made after the core storage read the flow detail.
        injector = self.flow_detail.find_by_name(INJECTOR_NAME)
        if injector is not None and isinstance(injector.results, dict) and name in injector.results:
            return True, injector.results[name]
        return False, None

    def inject_atom_args(
        self, atom_name: str, pairs: Mapping[str, Any] | Iterable[tuple[str, Any]], transient: bool = True
    ) -> None:
        """Add values only the named atom sees (they win over flow-wide ones for it)."""
        if self._engine is not None:
            raise InvalidOptionError(
                f"inject_atom_args({atom_name!r}, ...) on an engine's storage: give the atom its "
                f"values with its inject= argument, or inject them flow-wide (engine.storage.inject)"
            )
        values = dict(pairs)
        for key in values:
            if not isinstance(key, str):
                raise InvalidOptionError(
                    f"injected names must be strings, got {key!r} for atom {atom_name!r}"
                )
        with self._lock:
            detail = self._detail(atom_name)
            if transient:
                self._atom_transient.setdefault(atom_name, {}).update(values)
                return
            problem = self._core.unsaveable(atom_name, values, what="injected value")
            if problem is not None:
                problem.reraise()
            detail.meta[_ATOM_INJECTED] = {**detail.meta.get(_ATOM_INJECTED, {}), **values}
            self._core.save_atom(detail)

    def _atom_injected(self, atom_name: str, symbol: str) -> tuple[bool, Any]:
        transient = self._atom_transient.get(atom_name)
        if transient is not None and symbol in transient:
            return True, transient[symbol]
        if self._engine is not None:
            atom = self._atoms_of_engine.get(atom_name)
            inject = getattr(atom, "inject", None) or {}
            return (True, inject[symbol]) if symbol in inject else (False, None)
        detail = self.flow_detail.find_by_name(atom_name)
        persisted = detail.meta.get(_ATOM_INJECTED) if detail is not None else None
        if persisted and symbol in persisted:
            return True, persisted[symbol]
        return False, None

    # -- reading values -----------------------------------------------------------------------------

    def _providers(self) -> _Providers:
        """Which atoms provide each symbol, and under which key of their result, in flow order."""
        out: _Providers = {}
        if self._engine is not None:
            compiled = self._engine.compile()
            for index in compiled.atoms:
                node = compiled.nodes[index]
                for symbol, key in node.save_as:
                    out.setdefault(symbol, []).append((node.name, key))
            return out
        for name in self._order:
            for symbol, key in self._save_as[name]:
                out.setdefault(symbol, []).append((name, key))
        return out

    def _atom_value(self, atom_name: str, key: Any) -> tuple[bool, Any]:
        detail = self.flow_detail.find_by_name(atom_name)
        if detail is None:
            return False, None
        found, result = self._execute_result(detail)
        if not found or isinstance(result, Failure):
            return False, None
        if key is None:
            return True, result
        try:
            return True, result[key]
        except (KeyError, IndexError, TypeError):
            return False, None

    def _injected_names(self, providers: _Providers) -> list[str]:
        # The core storage's fetch_all() holds every injected value (and, for an engine's,
        # the atoms' latest results: a provided name counts only if it was injected too).
        names = [
            name
            for name in self._core.fetch_all()
            if name not in providers or self._core.lookup_injected(name)[0]
        ]
        injector = self.flow_detail.find_by_name(INJECTOR_NAME) if self._engine is None else None
        if injector is not None and isinstance(injector.results, dict):
            names.extend(n for n in injector.results if n not in names)
        return names

    def _values(self, name: str, providers: _Providers) -> list[Any]:
        values = []
        present, value = self._lookup_injected(name)
        if present:
            values.append(value)
        for atom_name, key in providers.get(name, ()):
            found, value = self._atom_value(atom_name, key)
            if found:
                values.append(value)
        return values

    def fetch(self, name: str, many_handler: Callable[[list[Any]], Any] | None = None) -> Any:
        """The value of ``name``: an injected one first, else the first atom's result providing it.

        ``many_handler(values)`` chooses among every value found instead.
        """
        providers = self._providers()
        values = self._values(name, providers)
        if not values:
            raise self._not_found(name, providers)
        return (many_handler or _first)(values)

    def _not_found(self, name: str, providers: _Providers) -> NotFoundError:
        if name not in providers:
            return NotFoundError(
                f"Name {name!r} is not mapped as a produced output by any providers "
                f"(no atom of flow {self.flow_name!r} provides it and it was not injected)"
            )
        searched = ", ".join(f"{atom!r} ({self._detail(atom).state})" for atom, _ in providers[name])
        return NotFoundError(
            f"Unable to find result {name!r}, searched {searched}: none of them has succeeded "
            f"with a result holding it"
        )

    def fetch_all(self, many_handler: Callable[[list[Any]], Any] | None = None) -> dict[str, Any]:
        """Every available name and its value (several values of one name: their list)."""
        handler = many_handler or _one_or_all
        providers = self._providers()
        out = {}
        for name in [*self._injected_names(providers), *providers]:
            if name not in out:
                values = self._values(name, providers)
                if values:
                    out[name] = handler(values)
        return out

    def _scoped_value(
        self, atom_name: str | None, bound: str, name: str, providers: _Providers
    ) -> tuple[bool, Any]:
        """The value ``atom_name``'s argument ``bound`` gets from symbol ``name``."""
        if atom_name is not None:
            present, value = self._atom_injected(atom_name, name)
            if present:
                return True, value
            if self._engine is not None:
                source = self._engine_source(atom_name, bound, name)
                if source is not None:
                    return source
        values = self._values(name, providers)
        return (True, values[0]) if values else (False, None)

    def _engine_source(self, atom_name: str, bound: str, name: str) -> tuple[bool, Any] | None:
        """Where the engine takes this argument from (``None``: the atom has no such argument)."""
        compiled = self._engine.compile()
        index = compiled.by_name.get(atom_name)
        if index is None:
            raise NotFoundError(f"Unknown atom name {atom_name!r} in flow {self.flow_name!r}")
        node = compiled.nodes[index]
        for source in (*node.args, *node.revert_args):
            if source.arg != bound or source.symbol != name:
                continue
            if source.kind == ARG_FROM_INJECT:
                return self._atom_injected(atom_name, source.ref)
            if source.kind == ARG_FROM_ATOM:
                injected = self._core.lookup_injected(source.symbol)
                if injected[0]:  # an injected value is preferred, as by the engine's runtime
                    return injected  # type: ignore[no-any-return]
                return self._atom_value(compiled.nodes[source.ref].name, source.key)
            if source.kind == ARG_FROM_STORE:
                return self._core.lookup_injected(source.ref)  # type: ignore[no-any-return]
        return None

    def fetch_mapped_args(
        self,
        args_mapping: Mapping[str, str],
        atom_name: str | None = None,
        scope_walker: Any = None,
        optional_args: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """``{argument: value}`` for ``args_mapping`` (``{argument: name}``), as the named atom sees them.

        Values injected into the atom come first. A missing argument raises
        ``NotFound`` unless it is one of ``optional_args``.
        """
        if scope_walker is not None:
            raise InvalidOptionError("fetch_mapped_args(scope_walker=) is not supported: pass atom_name=")
        optional = frozenset(optional_args or ())
        providers = self._providers()
        out = {}
        for bound, name in args_mapping.items():
            found, value = self._scoped_value(atom_name, bound, name, providers)
            if found:
                out[bound] = value
            elif bound not in optional:
                who = f"atom {atom_name!r}" if atom_name is not None else "the flow"
                raise NotFoundError(
                    f"Mapped argument {bound!r} <= {name!r} was not produced by any accessible "
                    f"provider of {who} and was not injected"
                )
        return out

    def fetch_unsatisfied_args(
        self,
        atom_name: str,
        args_mapping: Mapping[str, str],
        scope_walker: Any = None,
        optional_args: Iterable[str] | None = None,
    ) -> set[str]:
        """The names in ``args_mapping`` the named atom would get no value for (optional ones excepted)."""
        if scope_walker is not None:
            raise InvalidOptionError("fetch_unsatisfied_args(scope_walker=) is not supported")
        self._detail(atom_name)
        optional = frozenset(optional_args or ())
        providers = self._providers()
        missing = set()
        for bound, name in args_mapping.items():
            if bound in optional:
                continue
            if self._atom_injected(atom_name, name)[0] or self._lookup_injected(name)[0]:
                continue
            if name in providers and any(p != atom_name for p, _ in providers[name]):
                continue  # some other atom will provide it
            missing.add(name)
        return missing

    # -- greenflow's own storage API ----------------------------------------------------------------

    @property
    def greenflow_storage(self) -> _CoreStorage:
        """The greenflow ``Storage`` underneath."""
        return self._core

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_core":
            raise AttributeError(name)
        return getattr(self._core, name)

    def __repr__(self) -> str:
        return f"Storage(flow {self.flow_name!r}, {len(self.flow_detail)} atoms)"


class _LazyMap(Mapping[str, Any]):
    """A mapping built on first use (an engine's atoms by name)."""

    def __init__(self, build: Callable[[], Mapping[str, Any]]) -> None:
        self._build = build
        self._built: Mapping[str, Any] | None = None

    def _get(self) -> Mapping[str, Any]:
        if self._built is None:
            self._built = self._build()
        return self._built

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Any:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _check_state(state: Any, what: str) -> None:
    if state not in _STATES:
        raise InvalidOptionError(f"unknown {what} {state!r} (expected one of {', '.join(sorted(_STATES))})")


_STATES: Final = frozenset(
    getattr(states, n) for n in states.__all__ if n.isupper() and isinstance(getattr(states, n), str)
) - {states.EXECUTE, states.REVERT, states.RETRY, states.IGNORE}

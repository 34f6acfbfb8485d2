"""``Storage``: one engine's view of its flow detail (results, states, failures, injected values).

Storage is the runtime's recorder (``greenflow.storage._recorder``): the
runtime reports each atom's transitions by node index (``record_state``,
``record_result``, ...) and storage applies them to the atom details and
writes them through to the backend; with no backend, or the in-memory one,
that costs nothing. How TaskFlow lays a run out (a retry's history, what a
reset forgets) is decided here, in the ``record_*`` methods, and nowhere else.
Users read results through ``fetch()``/``fetch_all()`` and add inputs with
``inject()``. Storage also holds the engine's claim on its flow detail while
it runs (``claim()``/``release()``), so two engines never run one record.

A backend that persists (``writes_through``) also gets the time of every
state change: each atom detail's and the flow detail's ``meta["transitions"]``
is a list of ``[state, unix time]`` pairs, appended as states change and
kept across retries and resumes (``greenflow timeline`` draws them).

A flow detail written by TaskFlow keeps its injected values in an atom detail
named ``_TaskFlow_INJECTOR`` (its results are the ``{name: value}`` dict);
storage reads those as injected values, and that detail is never an atom.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from greenflow import states
from greenflow.atoms import History
from greenflow.compiler import RETRY
from greenflow.exceptions import InvalidOptionError, NotFoundError, StorageError
from greenflow.failure import Failure
from greenflow.persistence import (
    AtomDetail,
    Backend,
    Connection,
    FlowDetail,
    LogBook,
    RetryDetail,
    TaskDetail,
    json_error,
    owner_is_stale,
)

if TYPE_CHECKING:
    from greenflow.compiler import CompiledFlow
    from greenflow.storage._recorder import PendingCommit

__all__ = ["TRANSITIONS_META", "Storage"]

_INJECTED_META: Final = "injected"
#: Key of the ``[[state, unix time], ...]`` list in an atom or flow detail's meta.
TRANSITIONS_META: Final = "transitions"
#: The atom detail fields ``refresh()`` takes from the stored record.
_REFRESHED: Final = ("state", "intention", "results", "failure", "revert_results", "revert_failure")
#: Name of the atom detail where TaskFlow keeps a flow's injected values.
TASKFLOW_INJECTOR: Final = "_TaskFlow_INJECTOR"


class Storage:
    """Results, states and injected values of one flow run, backed by a ``FlowDetail``.

    ``backend`` is ``None`` for a run nothing records (no saving, no claims).
    """

    #: The recorder seam's flag: every transition is written as it is recorded (nothing pending).
    defers_commits: bool = False

    def __init__(self, flow_detail: FlowDetail, backend: Backend | None = None) -> None:
        self.flow_detail = flow_detail
        self.backend = backend
        #: Whether every transition is written to the backend (and results must be JSON-safe).
        self.writes_through = bool(getattr(backend, "writes_through", False))
        self._writes = self.writes_through
        #: The recorder seam's flag: results are checked (``unstorable``) before they are recorded.
        self.checks_results = self.writes_through
        #: Whether runs claim the flow detail (every backend given to ``load()`` does).
        self.claims = backend is not None and hasattr(backend, "get_connection")
        self._conn = backend.get_connection() if self._writes and backend is not None else None
        self._transient: dict[str, Any] = {}
        injector = flow_detail.find_by_name(TASKFLOW_INJECTOR)
        self._injector = injector if injector is not None and isinstance(injector.results, dict) else None
        self._details: list[AtomDetail | None] = []
        self._symbols: dict[str, tuple[tuple[int, Any], ...]] = {}
        #: Whether the last ``ensure_atoms`` created every atom detail (a brand-new run).
        self.created_all = False
        # Group commit, while a run is attached to its backend's writer (``attach``).
        self._writer: Any = None
        self._hub: Any = None
        self._pending_atoms: dict[str, Any] = {}
        self._pending_flow: Any = None
        self._claimed_record: FlowDetail | None = None
        # A new logbook whose records are written with the first claim (``defer_creation``).
        self._creating: LogBook | None = None

    # -- engine side ------------------------------------------------------------------------

    def ensure_atoms(self, compiled: CompiledFlow) -> list[AtomDetail | None]:
        """Create missing atom details; return them aligned with ``compiled.nodes``."""
        fd = self.flow_detail
        details: list[AtomDetail | None] = [None] * len(compiled.nodes)
        created = False
        fresh = len(fd) == 0
        for index in compiled.atoms:
            node = compiled.nodes[index]
            detail = None if fresh else fd.find_by_name(node.name)
            if detail is None:
                detail = RetryDetail(node.name) if node.kind == RETRY else TaskDetail(node.name)
                detail.version = node.version
                fd.add(detail)
                created = True
            details[index] = detail
        if created and self._writes and self._creating is None:
            # One call stores the flow detail and every atom detail not stored yet
            # (the Connection contract), instead of one round trip per new atom.
            self._conn.update_flow_details(fd)  # type: ignore[union-attr]
        self._details = details
        self._symbols = compiled.providers
        self.created_all = fresh
        return details

    # -- the runtime's recorder (the contract is in greenflow.storage._recorder) ---------------

    def recorded(self) -> Sequence[AtomDetail | None]:
        """The atom details, aligned with the compiled nodes (``None`` for joins)."""
        return self._details

    def departed_failures(self) -> list[tuple[str, Failure]]:
        """Execute failures of atom details no compiled atom has, whose intention is REVERT."""
        mine = {id(detail) for detail in self._details if detail is not None}
        return [
            (detail.name, detail.failure)
            for detail in self.flow_detail
            if id(detail) not in mine
            and detail.name != TASKFLOW_INJECTOR
            and detail.intention == states.REVERT
            and detail.failure is not None
        ]

    def _save(self, detail: AtomDetail | None) -> None:
        assert detail is not None
        if self._writes:
            self._write(detail)

    def _write(self, detail: AtomDetail) -> None:
        # Every atom detail written goes through here: the one place a state change is stamped.
        _stamp(detail.meta, detail.state)
        if self._writer is not None:
            # The row as it is now: the writer never reads an object this engine changes.
            self._pending_atoms[detail.uuid] = self._writer.backend.atom_row(detail)  # type: ignore[union-attr]
            return
        self._conn.update_atom_details(detail)  # type: ignore[union-attr]

    # -- group commit ---------------------------------------------------------------------------

    def attach(self, hub: Any) -> None:
        """Record the coming run through the backend's writer on ``hub`` (group commit), if it has one.

        From now until ``detach()`` transitions are pending until ``commit()``
        hands them to the writer; claims and releases go through it too.
        """
        if not self._writes or self.backend is None:
            return
        from greenflow.persistence._writer import writer_for

        self._writer = writer_for(self.backend, hub)
        self._hub = hub
        self.defers_commits = self._writer is not None

    def detach(self) -> None:
        """Back to writing through at once (after a run); anything still pending is written first."""
        if self._writer is None:
            return
        try:
            ticket = self._submit()
            if ticket is not None:
                ticket.wait(self._hub)
        finally:
            self._writer = None
            self.defers_commits = False

    def defer_creation(self, book: LogBook) -> None:
        """Write ``book`` (new, holding this flow detail) with the first claim instead of now."""
        self._creating = book

    def _group(self) -> Any:
        from greenflow.persistence._writer import WriteGroup

        group = WriteGroup(self.flow_detail.uuid, self._pending_atoms)
        if self._pending_flow is not None:
            group.flows[self.flow_detail.uuid] = self._pending_flow
        self._pending_atoms, self._pending_flow = {}, None
        book = self._creating
        if book is not None:
            # The whole new record, as it is now: its rows are inserted before anything else.
            group.create = self._writer.backend.book_rows(book)
            group.flows.clear()
            group.atoms.clear()
        return group

    def _submit(self, claim: tuple[str, str] | None = None, release: tuple[str, str] | None = None) -> Any:
        group = self._group()
        group.claim, group.release = claim, release
        return self._writer.submit(group) if group else None

    def record_state(self, i: int, state: str, intention: str | None = None) -> None:
        """Atom ``i`` is in ``state`` (with ``intention``, when given)."""
        detail = self._details[i]
        assert detail is not None
        detail.state = state
        if intention is not None:
            detail.intention = intention
        if self._writes:
            self._write(detail)  # type: ignore[arg-type]

    def record_reset(self, i: int, state: str) -> None:
        """Atom ``i`` forgets its result and failures (a retry keeps its history)."""
        detail = self._details[i]
        assert detail is not None
        detail.reset(state)
        self._save(detail)

    def record_intention(self, i: int, intention: str) -> None:
        """Atom ``i``'s intention, on its own."""
        detail = self._details[i]
        assert detail is not None
        detail.intention = intention
        self._save(detail)

    def record_result(self, i: int, value: Any) -> None:
        """SUCCESS with ``value``; a retry appends an attempt ``(value, {})`` to its history."""
        detail = self._details[i]
        if isinstance(detail, RetryDetail):
            detail.results.append((value, {}))
        else:
            detail.results = value  # type: ignore[union-attr]
        detail.state = states.SUCCESS  # type: ignore[union-attr]
        if self._writes:
            self._write(detail)  # type: ignore[arg-type]

    def record_failure(self, i: int, failure: Failure) -> None:
        """FAILURE with ``failure``."""
        detail = self._details[i]
        assert detail is not None
        detail.failure = failure
        detail.state = states.FAILURE
        self._save(detail)

    def record_reverted(self, i: int, value: Any) -> None:
        """REVERTED with ``value``; a retry forgets its history (an enclosing retry starts it afresh)."""
        detail = self._details[i]
        assert detail is not None
        detail.revert_results = value
        detail.revert_failure = None  # a resumed run may revert again what failed to revert
        if isinstance(detail, RetryDetail):
            detail.results = []
        detail.state = states.REVERTED
        self._save(detail)

    def record_revert_failure(self, i: int, failure: Failure) -> None:
        """REVERT_FAILURE with ``failure``."""
        detail = self._details[i]
        assert detail is not None
        detail.revert_failure = failure
        detail.state = states.REVERT_FAILURE
        self._save(detail)

    def record_retry_failure(self, r: int, atom_name: str, failure: Failure) -> None:
        """Add ``atom_name``'s failure to retry ``r``'s current attempt (an attempt made if none)."""
        detail = self._details[r]
        assert detail is not None
        history = detail.results
        if history:
            history[-1][1][atom_name] = failure
        else:
            history.append((None, {atom_name: failure}))
        self._save(detail)

    def commit(self) -> PendingCommit | None:
        """``None`` when nothing is pending, else the writer's ticket for what was recorded since."""
        if self._writer is None or (not self._pending_atoms and self._pending_flow is None):
            return None
        return self._submit()  # type: ignore[no-any-return]

    def unstorable(self, i: int, value: Any) -> Failure | None:
        """``unsaveable`` for atom ``i``'s result."""
        detail = self._details[i]
        assert detail is not None
        return self.unsaveable(detail.name, value)

    def reset_atoms(self) -> None:
        """Forget every atom's results, failures and a retry's history (``Engine.reset()``)."""
        for detail in self._details:
            if detail is not None:
                detail.reset()
                if isinstance(detail, RetryDetail):
                    detail.results = []
                self._save(detail)

    # -- writes outside a run -----------------------------------------------------------------

    def save_atom(self, detail: AtomDetail) -> None:
        """Persist one atom detail (a no-op for the in-memory backend)."""
        if self._writes:
            self._write(detail)  # type: ignore[arg-type]

    def save_flow(self) -> None:
        """Persist the flow detail itself (state, meta)."""
        if self._writes:
            if self.flow_detail.state is not None:
                _stamp(self.flow_detail.meta, self.flow_detail.state)
            if self._creating is not None:
                return  # the whole record is written with the claim
            if self._writer is not None:
                self._pending_flow = self._writer.backend.flow_row(self.flow_detail)  # type: ignore[union-attr]
                return
            self._conn.update_flow_details(self.flow_detail)  # type: ignore[union-attr]

    def lookup_injected(self, symbol: str) -> tuple[bool, Any]:
        """``(found, value)`` for a symbol among transient and persisted injected values."""
        if symbol in self._transient:
            return True, self._transient[symbol]
        injected = self.flow_detail.meta.get(_INJECTED_META)
        if injected is not None and symbol in injected:
            return True, injected[symbol]
        if self._injector is not None and symbol in self._injector.results:
            return True, self._injector.results[symbol]
        return False, None

    def unsaveable(self, atom_name: str, value: Any, what: str = "result") -> Failure | None:
        """A ``StorageError`` failure when ``value`` cannot be written through, else ``None``.

        Checked once per result before it is recorded, so an atom returning
        something the backend cannot store fails (and its flow reverts)
        instead of the engine breaking in the middle of a save.
        """
        if not self._writes:
            return None
        problem = json_error(value)
        if problem is None:
            # A backend with a size limit (MySQL's packet) says whether the value fits.
            value_problem = getattr(self.backend, "value_problem", None)
            too_big = value_problem(value) if value_problem is not None else None
            if too_big is None:
                return None
            error = StorageError(
                f"atom {atom_name!r} in flow {self.flow_detail.name!r} returned a {what} the "
                f"{type(self.backend).__name__} cannot store: {too_big}"
            )
            return Failure.from_exception(error)
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        error = StorageError(
            f"atom {atom_name!r} in flow {self.flow_detail.name!r} returned a {what} the "
            f"{type(self.backend).__name__} cannot store: {shown} ({problem}); results must be "
            f"JSON-serialisable (dict, list, str, int, float, bool, None) when a backend records the run"
        )
        return Failure.from_exception(error)

    # -- claims -----------------------------------------------------------------------------

    def claim(self, owner: str) -> None:
        """Claim the flow detail for ``owner``; the backend's ``StorageError`` if someone else holds it.

        A claim held by a process of this host that has exited (killed in the
        middle of a run) is broken, so the flow can be resumed; this works with
        any backend whose connection can say who holds a claim (``get_claim``).
        """
        uuid = self.flow_detail.uuid
        if self._writer is not None:
            # Taken in the writer's round with other engines' transitions; the flow
            # detail is re-read in the same transaction (``refresh`` uses it).
            ticket = self._submit(claim=(uuid, owner))
            ticket.wait(self._hub)
            if self._creating is not None:
                self._creating = None
                self._claimed_record = self.flow_detail  # just written: nothing to re-read
            else:
                self._claimed_record = ticket.group.claimed
            return
        conn = self._connection()
        try:
            conn.claim_flow(uuid, owner)
        except StorageError:
            get_claim = getattr(conn, "get_claim", None)
            holder = get_claim(uuid) if get_claim is not None else None
            if holder is None or holder == owner or not owner_is_stale(holder):
                raise
            conn.release_flow(uuid, holder)
            conn.claim_flow(uuid, owner)

    def refresh(self) -> bool:
        """Bring this engine's records in line with what the backend stores; ``True`` if any differed.

        Called once the run holds its claim: another engine (in any process) may
        have run the flow since this one loaded it, and what it recorded wins,
        so no finished atom runs a second time. The detail objects are updated
        in place (the runtime holds them).
        """
        if not self._writes:
            return False
        stored = self._claimed_record
        self._claimed_record = None
        if stored is self.flow_detail:
            return False
        if stored is None:
            stored = self._conn.get_flow_details(self.flow_detail.uuid)  # type: ignore[union-attr]
        fd = self.flow_detail
        changed = fd.state != stored.state or fd.meta != stored.meta
        fd.state, fd.meta = stored.state, stored.meta
        for stored_atom in stored:
            local = fd.find_by_name(stored_atom.name)
            if local is None:
                fd.add(stored_atom)
                changed = True
                continue
            if local.uuid != stored_atom.uuid or type(local) is not type(stored_atom):
                raise StorageError(
                    f"flow {fd.name!r} (flow detail {fd.uuid}): the stored atom detail "
                    f"{stored_atom.name!r} is not the one this engine loaded; load the flow again"
                )
            for field in _REFRESHED:
                value = getattr(stored_atom, field)
                if getattr(local, field) != value:
                    setattr(local, field, value)
                    changed = True
            if local.meta != stored_atom.meta:
                local.meta = stored_atom.meta
                changed = True
            local.version = stored_atom.version
        if changed:
            self.created_all = False
        return changed

    def _connection(self) -> Connection:
        if self._conn is not None:
            return self._conn
        assert self.backend is not None, "only a run some backend records claims its flow detail"
        return self.backend.get_connection()

    def release(self, owner: str) -> None:
        """Drop ``owner``'s claim on the flow detail (after writing anything still pending)."""
        if self._writer is not None:
            self._submit(release=(self.flow_detail.uuid, owner)).wait(self._hub)
            return
        conn = self._connection()
        conn.release_flow(self.flow_detail.uuid, owner)

    # -- user side --------------------------------------------------------------------------

    def inject(self, pairs: Mapping[str, Any] | Iterable[tuple[str, Any]], transient: bool = False) -> None:
        """Add values any atom can require by name.

        Transient values live only in this process (they are not written to
        the backend, so a resumed flow must inject them again).
        """
        values = dict(pairs)
        for key in values:
            if not isinstance(key, str):
                raise InvalidOptionError(f"injected names must be strings, got {key!r} in {values!r}")
        if transient:
            self._transient.update(values)
            return
        if self._writes:
            for key, value in values.items():
                problem = json_error(value)
                if problem is not None:
                    raise StorageError(
                        f"cannot store the value injected as {key!r} in flow {self.flow_detail.name!r} "
                        f"with the {type(self.backend).__name__}: {value!r} ({problem}); inject "
                        f"JSON-serialisable values, or pass them with transient=True"
                    )
        if self._injector is not None:
            # Keep a TaskFlow-written record readable by TaskFlow: its values live in the injector.
            self._injector.results = {**self._injector.results, **values}
            self.save_atom(self._injector)
            return
        meta = self.flow_detail.meta
        meta[_INJECTED_META] = {**meta.get(_INJECTED_META, {}), **values}
        self.save_flow()

    def _detail(self, atom_name: str) -> AtomDetail:
        detail = self.flow_detail.find_by_name(atom_name)
        if detail is None or atom_name == TASKFLOW_INJECTOR:
            raise NotFoundError(f"flow {self.flow_detail.name!r} has no atom named {atom_name!r}")
        return detail

    def fetch(self, name: str, many_handler: Any = None) -> Any:
        """The value of symbol ``name``: the latest provider's result, else an injected value."""
        found = self._provided(name)
        if found:
            if many_handler is not None:
                return many_handler([value for _, value in found])
            return found[-1][1]
        present, value = self.lookup_injected(name)
        if present:
            return value
        raise NotFoundError(
            f"flow {self.flow_detail.name!r} has no value for {name!r}: no atom that provides it has "
            f"succeeded and it was not injected"
        )

    def _provided(self, name: str) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        details = self._details
        for index, key in self._symbols.get(name, ()):
            detail = details[index]
            assert detail is not None
            if detail.state != states.SUCCESS:
                continue
            result = _current_result(detail)
            try:
                out.append((detail.name, result if key is None else result[key]))
            except (KeyError, IndexError, TypeError):
                continue
        return out

    def fetch_all(self) -> dict[str, Any]:
        """Every available symbol and its value (injected values included)."""
        out: dict[str, Any] = {}
        if self._injector is not None:
            out.update(self._injector.results)
        injected = self.flow_detail.meta.get(_INJECTED_META) or {}
        out.update(injected)
        out.update(self._transient)
        for name in self._symbols:
            found = self._provided(name)
            if found:
                out[name] = found[-1][1]
        return out

    def get(self, atom_name: str) -> Any:
        """The result of atom ``atom_name`` (its Failure if it failed)."""
        detail = self._detail(atom_name)
        if detail.failure is not None:
            return detail.failure
        if detail.state not in (states.SUCCESS, states.REVERTING, states.REVERTED, states.REVERT_FAILURE):
            raise NotFoundError(f"atom {atom_name!r} has no result: it is {detail.state}")
        return _current_result(detail)

    def get_revert_result(self, atom_name: str) -> Any:
        """What atom ``atom_name``'s ``revert`` returned (or its Failure)."""
        detail = self._detail(atom_name)
        return detail.revert_failure if detail.revert_failure is not None else detail.revert_results

    def get_atom_state(self, atom_name: str) -> str:
        """The state of atom ``atom_name``."""
        return self._detail(atom_name).state

    def get_atom_intention(self, atom_name: str) -> str:
        """The intention of atom ``atom_name``."""
        return self._detail(atom_name).intention

    def get_atoms_states(self, atom_names: Iterable[str]) -> dict[str, tuple[str, str]]:
        """``{name: (state, intention)}`` for the given atoms."""
        return {n: (self._detail(n).state, self._detail(n).intention) for n in atom_names}

    def get_flow_state(self) -> str:
        """The flow's state (``PENDING`` for a flow that never ran: its record holds no state yet)."""
        return self.flow_detail.state or states.PENDING

    def get_failures(self) -> dict[str, Failure]:
        """``{atom name: Failure}`` for every atom whose execute failed."""
        return {d.name: d.failure for d in self.flow_detail if d.failure is not None}

    def get_revert_failures(self) -> dict[str, Failure]:
        """``{atom name: Failure}`` for every atom whose revert failed."""
        return {d.name: d.revert_failure for d in self.flow_detail if d.revert_failure is not None}

    def has_failures(self) -> bool:
        """Whether any atom failed (in execute or revert)."""
        return any(d.failure is not None or d.revert_failure is not None for d in self.flow_detail)

    def get_retry_history(self, retry_name: str) -> History:
        """The attempts recorded by retry ``retry_name``."""
        detail = self._detail(retry_name)
        if not isinstance(detail, RetryDetail):
            raise NotFoundError(f"atom {retry_name!r} is a task, not a retry")
        return History(detail.results, detail.failure)

    def get_execute_result(self, atom_name: str) -> Any:
        """Alias of ``get`` (TaskFlow's name)."""
        return self.get(atom_name)

    @property
    def flow_name(self) -> str:
        """The flow's name."""
        return self.flow_detail.name

    @property
    def flow_uuid(self) -> str:
        """The flow detail's uuid."""
        return self.flow_detail.uuid


def _stamp(meta: dict[str, Any], state: str) -> None:
    """Append ``[state, now]`` to ``meta``'s transitions unless ``state`` is the last one recorded."""
    stamps = meta.get(TRANSITIONS_META)
    if not isinstance(stamps, list):
        meta[TRANSITIONS_META] = [[state, time.time()]]
    elif not stamps or stamps[-1][0] != state:
        stamps.append([state, time.time()])


def _current_result(detail: AtomDetail) -> Any:
    if isinstance(detail, RetryDetail):
        return detail.results[-1][0] if detail.results else None
    return detail.results

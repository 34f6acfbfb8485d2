"""``taskflow.persistence.path_based``: the base classes of backends that store records by path.

A subclass of ``PathBasedConnection`` supplies the storage primitives (read,
write and delete an item at a path, list and link children, make a path, a
transaction); the base class builds every ``Connection`` method on them, in
this layout under ``backend.path``:

- ``books/<uuid>``: a logbook's record; its children link its flow details;
- ``flow_details/<uuid>``: a flow detail's record; its children link its atom details;
- ``atom_details/<uuid>``: an atom detail's record.

Records are greenflow's versioned model dicts (``to_dict()``/``from_dict()``).
A path that holds nothing raises ``NotFound`` from ``_get_item``.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from typing import Any

from greenflow.persistence import AtomDetail, FlowDetail, LogBook
from taskflow.exceptions import NotFound, StorageFailure

__all__ = ["PathBasedBackend", "PathBasedConnection"]


class PathBasedBackend(abc.ABC):
    """A backend whose records live under one base path (``conf['path']``, else ``DEFAULT_PATH``)."""

    #: The base path used when the configuration names none.
    DEFAULT_PATH: str | None = None

    def __init__(self, conf: dict[str, Any] | None = None) -> None:
        self._conf = dict(conf or {})
        self._path = self._conf.get("path") or self.DEFAULT_PATH

    @property
    def path(self) -> str | None:
        """The base path every record is stored under."""
        return self._path

    @abc.abstractmethod
    def get_connection(self) -> PathBasedConnection:
        """A connection to the store."""

    def close(self) -> None:  # noqa: B027 (optional: most path-based backends hold nothing)
        """Release what the backend holds (nothing here)."""


class PathBasedConnection(abc.ABC):
    """A ``Connection`` built on path primitives a subclass provides (see the module docstring)."""

    def __init__(self, backend: PathBasedBackend) -> None:
        self._backend = backend
        self._book_path = self._join_path(backend.path, "books")
        self._flow_path = self._join_path(backend.path, "flow_details")
        self._atom_path = self._join_path(backend.path, "atom_details")

    @property
    def backend(self) -> PathBasedBackend:
        """The backend this connection stores into."""
        return self._backend

    @property
    def book_path(self) -> str:
        """Where logbooks are stored."""
        return self._book_path

    @property
    def flow_path(self) -> str:
        """Where flow details are stored."""
        return self._flow_path

    @property
    def atom_path(self) -> str:
        """Where atom details are stored."""
        return self._atom_path

    # -- what a subclass provides --------------------------------------------------------------

    @abc.abstractmethod
    def _join_path(self, *parts: Any) -> str:
        """The path made of ``parts``."""

    @abc.abstractmethod
    def _get_item(self, path: str) -> Any:
        """The item stored at ``path``; ``NotFound`` if there is none."""

    @abc.abstractmethod
    def _set_item(self, path: str, value: Any, transaction: Any) -> None:
        """Store ``value`` at ``path`` (within ``transaction``)."""

    @abc.abstractmethod
    def _del_tree(self, path: str, transaction: Any) -> None:
        """Remove ``path`` and everything under it."""

    @abc.abstractmethod
    def _get_children(self, path: str) -> Any:
        """The names of the children of ``path``."""

    @abc.abstractmethod
    def _ensure_path(self, path: str) -> None:
        """Make ``path`` exist."""

    @abc.abstractmethod
    def _create_link(self, src_path: str, dest_path: str, transaction: Any) -> None:
        """Make ``dest_path`` a child of ``src_path`` (by name)."""

    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        """A context manager whose value the primitives take as ``transaction``."""

    # -- records --------------------------------------------------------------------------------

    def _get_obj_path(self, obj: Any) -> str:
        if isinstance(obj, LogBook):
            return self._join_path(self.book_path, obj.uuid)
        if isinstance(obj, FlowDetail):
            return self._join_path(self.flow_path, obj.uuid)
        if isinstance(obj, AtomDetail):
            return self._join_path(self.atom_path, obj.uuid)
        raise StorageFailure(f"cannot store a {type(obj).__name__} by path: {obj!r}")

    @staticmethod
    def _serialize(obj: Any) -> dict[str, Any]:
        if isinstance(obj, LogBook):
            return obj.to_dict(include_flows=False)
        if isinstance(obj, FlowDetail):
            return obj.to_dict(include_atoms=False)
        if isinstance(obj, AtomDetail):
            return obj.to_dict()
        raise StorageFailure(f"cannot store a {type(obj).__name__} by path: {obj!r}")

    def _update_object(self, obj: Any, transaction: Any, ignore_missing: bool = False) -> Any:
        """Merge ``obj`` into what is stored at its path (or store it); the stored record as it is now."""
        path = self._get_obj_path(obj)
        try:
            stored = self._deserialize(type(obj), self._get_item(path))
        except NotFound:
            if not ignore_missing:
                raise
            stored = obj
        else:
            # A logbook's record holds its own fields only (its flows are links): the one given wins.
            stored = obj if isinstance(obj, LogBook) else stored.update(obj)
        self._set_item(path, self._serialize(stored), transaction)
        return stored

    @staticmethod
    def _deserialize(cls: type[Any], data: Any) -> Any:
        if issubclass(cls, LogBook):
            return LogBook.from_dict(data)
        if issubclass(cls, FlowDetail):
            return FlowDetail.from_dict(data)
        return AtomDetail.from_dict(data)

    def _names(self, path: str) -> list[str]:
        try:
            return sorted(self._get_children(path))
        except NotFound:
            return []

    # -- the Connection methods -------------------------------------------------------------------

    def get_logbooks(self, lazy: bool = False) -> Iterator[LogBook]:
        """Every stored logbook (without its flow details if ``lazy``)."""
        for uuid in self._names(self.book_path):
            yield self.get_logbook(uuid, lazy=lazy)

    def get_logbook(self, book_uuid: str, lazy: bool = False) -> LogBook:
        """The logbook ``book_uuid``; ``NotFound`` if it is not stored."""
        book_path = self._join_path(self.book_path, book_uuid)
        book = LogBook.from_dict(self._get_item(book_path))
        if not lazy:
            for flow_detail in self.get_flows_for_book(book_uuid):
                book.add(flow_detail)
        return book

    def save_logbook(self, book: LogBook) -> LogBook:
        """Store the logbook with its flow and atom details (merged into what is stored)."""
        book_path = self._get_obj_path(book)
        with self._transaction() as txn:
            self._update_object(book, txn, ignore_missing=True)
            for flow_detail in book:
                flow_path = self._get_obj_path(flow_detail)
                self._update_object(flow_detail, txn, ignore_missing=True)
                self._create_link(book_path, flow_path, txn)
                for atom_detail in flow_detail:
                    self._update_object(atom_detail, txn, ignore_missing=True)
                    self._create_link(flow_path, self._get_obj_path(atom_detail), txn)
        return book

    def get_flows_for_book(self, book_uuid: str, lazy: bool = False) -> Iterator[FlowDetail]:
        """The flow details of logbook ``book_uuid``."""
        for flow_uuid in self._names(self._join_path(self.book_path, book_uuid)):
            yield self.get_flow_details(flow_uuid, lazy=lazy)

    def get_flow_details(self, flow_uuid: str, lazy: bool = False) -> FlowDetail:
        """The flow detail ``flow_uuid`` (without its atom details if ``lazy``); ``NotFound`` if none."""
        flow_detail = FlowDetail.from_dict(self._get_item(self._join_path(self.flow_path, flow_uuid)))
        if not lazy:
            for atom_detail in self.get_atoms_for_flow(flow_uuid):
                flow_detail.add(atom_detail)
        return flow_detail

    def update_flow_details(self, flow_detail: FlowDetail, ignore_missing: bool = False) -> FlowDetail:
        """Merge the flow detail and its atom details into what is stored; ``NotFound`` if never saved."""
        flow_path = self._get_obj_path(flow_detail)
        with self._transaction() as txn:
            stored = self._update_object(flow_detail, txn, ignore_missing=ignore_missing)
            for atom_detail in flow_detail:
                self._update_object(atom_detail, txn, ignore_missing=True)
                self._create_link(flow_path, self._get_obj_path(atom_detail), txn)
        return stored if isinstance(stored, FlowDetail) else flow_detail

    def get_atoms_for_flow(self, flow_uuid: str) -> Iterator[AtomDetail]:
        """The atom details of flow detail ``flow_uuid``."""
        for atom_uuid in self._names(self._join_path(self.flow_path, flow_uuid)):
            yield self.get_atom_details(atom_uuid)

    def get_atom_details(self, atom_uuid: str) -> AtomDetail:
        """The atom detail ``atom_uuid``; ``NotFound`` if none."""
        return AtomDetail.from_dict(self._get_item(self._join_path(self.atom_path, atom_uuid)))

    def update_atom_details(self, atom_detail: AtomDetail, ignore_missing: bool = False) -> AtomDetail:
        """Merge the atom detail into the store; ``NotFound`` if never saved (and not ``ignore_missing``)."""
        with self._transaction() as txn:
            stored: AtomDetail = self._update_object(atom_detail, txn, ignore_missing=ignore_missing)
        return stored

    def _do_destroy_logbook(self, book_uuid: str, transaction: Any) -> None:
        book_path = self._join_path(self.book_path, book_uuid)
        for flow_uuid in self._names(book_path):
            flow_path = self._join_path(self.flow_path, flow_uuid)
            for atom_uuid in self._names(flow_path):
                self._del_tree(self._join_path(self.atom_path, atom_uuid), transaction)
            self._del_tree(flow_path, transaction)
        self._del_tree(book_path, transaction)

    def destroy_logbook(self, book_uuid: str) -> None:
        """Remove the logbook with its flow and atom details; ``NotFound`` if it is not stored."""
        self._get_item(self._join_path(self.book_path, book_uuid))
        with self._transaction() as txn:
            self._do_destroy_logbook(book_uuid, txn)

    def clear_all(self) -> None:
        """Remove every logbook, flow detail and atom detail."""
        with self._transaction() as txn:
            for path in (self.book_path, self.flow_path, self.atom_path):
                self._del_tree(path, txn)
        self.upgrade()

    def upgrade(self) -> None:
        """Make the three record paths exist."""
        for path in (self.book_path, self.flow_path, self.atom_path):
            self._ensure_path(path)

    def validate(self) -> None:  # noqa: B027 (optional: a subclass checks its store here)
        """Nothing beyond what ``upgrade()`` makes."""

    def close(self) -> None:  # noqa: B027 (optional: most path-based connections hold nothing)
        """Nothing to release."""

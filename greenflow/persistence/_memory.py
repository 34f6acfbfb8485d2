"""``MemoryBackend``: logbooks kept in this process (the default; nothing survives a restart)."""

from __future__ import annotations

from typing import Any

from greenflow.exceptions import NotFoundError, StorageError
from greenflow.persistence._models import AtomDetail, FlowDetail, LogBook, now_iso

__all__ = ["MemoryBackend"]


class MemoryBackend:
    """Keeps logbooks as live objects; saving is recording the reference.

    Engines write atom details in place, so there is nothing to copy on each
    transition (``writes_through`` is false: the engine skips the save calls).
    The backend is its own connection. As on every backend, a record is known
    once saved: updating a flow or atom detail never saved raises
    ``NotFoundError``, and saving another ``LogBook`` object with a stored
    logbook's uuid merges it into the stored one (its fields, and its flow
    details added). ``lazy`` reads give a copy of the record's own fields
    without what it holds (a logbook without flow details, a flow detail
    without atom details).
    """

    writes_through = False

    def __init__(self, conf: dict[str, Any] | None = None) -> None:
        self.conf = dict(conf or {})
        self._books: dict[str, LogBook] = {}
        self._flows: dict[str, FlowDetail] = {}
        self._book_of: dict[str, str] = {}
        self._claims: dict[str, str] = {}

    def get_connection(self) -> MemoryBackend:
        """This backend is its own connection."""
        return self

    def close(self) -> None:
        """Nothing to release."""

    def upgrade(self) -> None:
        """Nothing to migrate."""

    def validate(self) -> None:
        """Always reachable."""

    # -- logbooks ---------------------------------------------------------------------------

    def save_logbook(self, book: LogBook) -> LogBook:
        """Store a logbook and index its flow details; returns the stored logbook.

        Another object with a stored logbook's uuid is merged into the stored one.
        """
        stored = self._books.get(book.uuid)
        if stored is None:
            self._books[book.uuid] = stored = book
        else:
            if stored is not book:
                stored.name, stored.meta = book.name, book.meta
                for flow_detail in book:
                    stored.add(flow_detail)
            stored.updated_at = book.updated_at = now_iso()
        for flow_detail in book:
            self._flows[flow_detail.uuid] = flow_detail
            self._book_of[flow_detail.uuid] = book.uuid
        return stored

    def get_logbook(self, book_uuid: str, lazy: bool = False) -> LogBook:
        """The logbook with this uuid (``lazy``: a copy of its fields, no flows); else ``NotFoundError``."""
        try:
            book = self._books[book_uuid]
        except KeyError:
            raise NotFoundError(f"no logbook with uuid {book_uuid!r} in the memory backend") from None
        if not lazy:
            return book
        shell = LogBook(book.name, book.uuid)
        shell.meta, shell.created_at, shell.updated_at = dict(book.meta), book.created_at, book.updated_at
        return shell

    def get_logbooks(self, lazy: bool = False) -> list[LogBook]:
        """Every stored logbook."""
        return [self.get_logbook(uuid, lazy) for uuid in list(self._books)]

    def destroy_logbook(self, book_uuid: str) -> None:
        """Remove a logbook and its flow details; ``NotFoundError`` if none."""
        book = self._books.pop(book_uuid, None)
        if book is None:
            raise NotFoundError(f"no logbook with uuid {book_uuid!r} in the memory backend")
        for flow_detail in book:
            self._flows.pop(flow_detail.uuid, None)
            self._book_of.pop(flow_detail.uuid, None)
            self._claims.pop(flow_detail.uuid, None)

    def clear_all(self) -> None:
        """Forget every logbook and claim."""
        self._books.clear()
        self._flows.clear()
        self._book_of.clear()
        self._claims.clear()

    # -- flow and atom details --------------------------------------------------------------

    def update_flow_details(self, flow_detail: FlowDetail) -> FlowDetail:
        """Take the saved flow detail's place (nothing to copy); ``NotFoundError`` if never saved."""
        book_uuid = self._book_of.get(flow_detail.uuid)
        if book_uuid is None:
            raise NotFoundError(
                f"flow detail {flow_detail.name!r} ({flow_detail.uuid}) is not in the memory backend; "
                f"add it to a logbook and save_logbook() it first"
            )
        self._flows[flow_detail.uuid] = flow_detail
        book = self._books[book_uuid]
        if book.find(flow_detail.uuid) is not flow_detail:
            book.add(flow_detail)
        return flow_detail

    def update_atom_details(self, atom_detail: AtomDetail) -> AtomDetail:
        """Nothing to store (a live object); ``NotFoundError`` if it is in no saved flow detail."""
        self.get_atom_details(atom_detail.uuid)
        return atom_detail

    def get_flow_details(self, flow_uuid: str, lazy: bool = False) -> FlowDetail:
        """The flow detail with this uuid (``lazy``: its fields, no atoms); else ``NotFoundError``."""
        try:
            flow_detail = self._flows[flow_uuid]
        except KeyError:
            raise NotFoundError(f"no flow detail with uuid {flow_uuid!r} in the memory backend") from None
        if not lazy:
            return flow_detail
        shell = FlowDetail(flow_detail.name, flow_detail.uuid)
        shell.state, shell.meta = flow_detail.state, dict(flow_detail.meta)
        return shell

    def get_atom_details(self, atom_uuid: str) -> AtomDetail:
        """The atom detail with this uuid; ``NotFoundError`` if none."""
        for flow_detail in self._flows.values():
            found = flow_detail.find(atom_uuid)
            if found is not None:
                return found
        raise NotFoundError(f"no atom detail with uuid {atom_uuid!r} in the memory backend")

    def get_atoms_for_flow(self, flow_uuid: str) -> list[AtomDetail]:
        """The atom details of a flow detail."""
        return list(self.get_flow_details(flow_uuid))

    def get_flows_for_book(self, book_uuid: str, lazy: bool = False) -> list[FlowDetail]:
        """The flow details of a logbook (``lazy``: copies without their atoms)."""
        return [self.get_flow_details(fd.uuid, lazy) for fd in self.get_logbook(book_uuid)]

    # -- claims -----------------------------------------------------------------------------

    def claim_flow(self, flow_uuid: str, owner: str) -> None:
        """Record ``owner`` as running the flow detail; ``StorageError`` if another owner does."""
        # setdefault is one atomic step under the GIL: two threads cannot both win.
        holder = self._claims.setdefault(flow_uuid, owner)
        if holder != owner:
            raise StorageError(
                f"flow detail {flow_uuid} is already claimed by {holder} (claim asked by {owner})"
            )

    def release_flow(self, flow_uuid: str, owner: str) -> None:
        """Drop ``owner``'s claim, if it holds one."""
        if self._claims.get(flow_uuid) == owner:
            self._claims.pop(flow_uuid, None)

    def get_claim(self, flow_uuid: str) -> str | None:
        """The owner holding the flow detail, if any."""
        return self._claims.get(flow_uuid)

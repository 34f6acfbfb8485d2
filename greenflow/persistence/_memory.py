"""``MemoryBackend``: logbooks kept in this process (the default; nothing survives a restart)."""

from __future__ import annotations

from typing import Any

from greenflow.exceptions import NotFoundError
from greenflow.persistence._models import AtomDetail, FlowDetail, LogBook

__all__ = ["MemoryBackend"]


class MemoryBackend:
    """Keeps logbooks as live objects; saving is recording the reference.

    Engines write atom details in place, so there is nothing to copy on each
    transition (``writes_through`` is false: the engine skips the save calls).
    """

    writes_through = False

    def __init__(self, conf: dict[str, Any] | None = None) -> None:
        self.conf = dict(conf or {})
        self._books: dict[str, LogBook] = {}

    def get_connection(self) -> MemoryBackend:
        """This backend is its own connection."""
        return self

    def close(self) -> None:
        """Nothing to release."""

    def upgrade(self) -> None:
        """Nothing to migrate."""

    def save_logbook(self, book: LogBook) -> LogBook:
        """Store (or replace) a logbook."""
        self._books[book.uuid] = book
        return book

    def get_logbook(self, uuid: str) -> LogBook:
        """The logbook with this uuid; ``NotFoundError`` if none."""
        try:
            return self._books[uuid]
        except KeyError:
            raise NotFoundError(f"no logbook with uuid {uuid!r} in the memory backend") from None

    def get_logbooks(self) -> list[LogBook]:
        """Every stored logbook."""
        return list(self._books.values())

    def destroy_logbook(self, uuid: str) -> None:
        """Remove a logbook; ``NotFoundError`` if none."""
        if self._books.pop(uuid, None) is None:
            raise NotFoundError(f"no logbook with uuid {uuid!r} in the memory backend")

    def update_flow_details(self, flow_detail: FlowDetail) -> FlowDetail:
        """Nothing to do: flow details are live objects."""
        return flow_detail

    def update_atom_details(self, atom_detail: AtomDetail) -> AtomDetail:
        """Nothing to do: atom details are live objects."""
        return atom_detail

    def clear_all(self) -> None:
        """Forget every logbook."""
        self._books.clear()

"""The ``Backend`` and ``Connection`` protocols every persistence backend implements.

A backend is made from a URL (``fetch_backend``); engines ask it for a
connection and write through it on every transition when ``writes_through``
is true. The method names follow TaskFlow's connection API, so code written
against TaskFlow's persistence keeps working.
"""

from __future__ import annotations

from typing import Any, Protocol

from greenflow.persistence._models import AtomDetail, FlowDetail, LogBook

__all__ = ["Backend", "Connection", "GroupCommitBackend"]


class Connection(Protocol):
    """Reads and writes logbooks, flow details and atom details."""

    def save_logbook(self, book: LogBook) -> LogBook:
        """Store a logbook and everything in it (insert or update)."""

    def get_logbook(self, book_uuid: str, lazy: bool = False) -> LogBook:
        """The logbook with this uuid (with its flow and atom details unless ``lazy``)."""

    def get_logbooks(self, lazy: bool = False) -> list[LogBook]:
        """Every stored logbook."""

    def destroy_logbook(self, book_uuid: str) -> None:
        """Remove a logbook and everything in it."""

    def update_flow_details(self, flow_detail: FlowDetail) -> FlowDetail:
        """Store a flow detail's own fields (state, meta) and any atom detail not stored yet."""

    def update_atom_details(self, atom_detail: AtomDetail) -> AtomDetail:
        """Store one atom detail (the engine calls this on every transition)."""

    def get_flow_details(self, flow_uuid: str, lazy: bool = False) -> FlowDetail:
        """The flow detail with this uuid."""

    def get_atom_details(self, atom_uuid: str) -> AtomDetail:
        """The atom detail with this uuid."""

    def get_atoms_for_flow(self, flow_uuid: str) -> list[AtomDetail]:
        """The atom details of a flow detail."""

    def get_flows_for_book(self, book_uuid: str, lazy: bool = False) -> list[FlowDetail]:
        """The flow details of a logbook."""

    def claim_flow(self, flow_uuid: str, owner: str) -> None:
        """Mark a flow detail as being run by ``owner``; ``StorageError`` if another owner holds it."""

    def release_flow(self, flow_uuid: str, owner: str) -> None:
        """Drop ``owner``'s claim on a flow detail (no error if it holds none)."""

    def clear_all(self) -> None:
        """Remove every logbook."""

    def upgrade(self) -> None:
        """Create or migrate the storage schema to this version of greenflow."""

    def validate(self) -> None:
        """Check the storage is reachable and its schema current; raise ``StorageError`` if not."""

    def close(self) -> None:
        """Release the connection."""


class Backend(Protocol):
    """A persistence backend: gives connections; says whether engines must write through it."""

    #: True when engines must save every transition through a connection.
    writes_through: bool
    conf: dict[str, Any]

    def get_connection(self) -> Connection:
        """A connection (may be shared; connections are cheap to ask for)."""

    def close(self) -> None:
        """Release every resource the backend holds."""


class GroupCommitBackend(Backend, Protocol):
    """A backend that writes a round of many engines' records at once (``greenflow.persistence._writer``).

    Rows are made by the backend when a transition is recorded (``atom_row``,
    ``flow_row``, ``book_rows``), so the writer never reads objects an engine
    is changing; ``write_batch`` returns one error (or ``None``) per group.
    """

    def write_batch(self, groups: list[Any]) -> list[BaseException | None]:
        """Write every group of a round; the error of each group, or ``None``."""

    def atom_row(self, detail: AtomDetail) -> Any:
        """The stored form of ``detail`` as it is now."""

    def flow_row(self, flow_detail: FlowDetail) -> Any:
        """The stored form of ``flow_detail``'s own fields as they are now."""

    def book_rows(self, book: LogBook) -> Any:
        """The stored forms that create ``book`` with its flow and atom details."""

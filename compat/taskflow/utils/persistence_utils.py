"""``taskflow.utils.persistence_utils``: make logbooks and flow details, saved in a backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenflow.persistence import FlowDetail, LogBook, new_uuid

__all__ = ["create_flow_detail", "temporary_flow_detail", "temporary_log_book"]


def _save(backend: Any, book: LogBook) -> None:
    if backend is not None:
        conn = backend.get_connection()
        try:
            conn.save_logbook(book)
        finally:
            if conn is not backend:
                conn.close()


def temporary_log_book(backend: Any = None) -> LogBook:
    """A new logbook named ``'tmp'``, saved in ``backend`` if one is given."""
    book = LogBook("tmp")
    _save(backend, book)
    return book


def temporary_flow_detail(
    backend: Any = None, meta: Mapping[str, Any] | None = None
) -> tuple[LogBook, FlowDetail]:
    """``(book, flow_detail)``: a new flow detail in a new temporary logbook, saved in ``backend``."""
    book = temporary_log_book(backend)
    flow_detail = FlowDetail("tmp-flow-detail", new_uuid())
    if meta:
        flow_detail.meta.update(meta)
    book.add(flow_detail)
    _save(backend, book)
    return book, flow_detail


def create_flow_detail(
    flow: Any, book: LogBook | None = None, backend: Any = None, meta: Mapping[str, Any] | None = None
) -> FlowDetail:
    """A new flow detail named after ``flow``, added to ``book`` (a temporary one if none) and saved."""
    flow_detail = FlowDetail(getattr(flow, "name", None) or new_uuid(), new_uuid())
    if meta:
        flow_detail.meta.update(meta)
    if book is None:
        if backend is None:
            return flow_detail
        book = temporary_log_book(backend)
    book.add(flow_detail)
    _save(backend, book)
    return flow_detail

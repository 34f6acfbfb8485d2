"""Rows <-> greenflow's logbook model, in TaskFlow's encodings.

Writing: JSON text for ``meta``, ``results``, ``failure``, ``revert_results``
and ``revert_failure`` (SQL NULL for ``None``); failures in TaskFlow's dict
form (``version``, ``exc_args`` and nested ``causes`` on every cause, so
TaskFlow's ``Failure.from_dict`` accepts them); a retry's results as a list of
``[result, {atom name: failure dict}]`` pairs; versions as dotted text
(``"1.0"``, read back as the text it is); times as naive UTC. Reading checks every value it trusts
(``atom_type``, states, JSON) and names the table and uuid of a bad row.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any, Final

from greenflow import states
from greenflow.exceptions import InvalidOptionError, StorageError
from greenflow.failure import FAILURE_FORMAT_VERSION, Failure
from greenflow.persistence._models import (
    AtomDetail,
    FlowDetail,
    LogBook,
    RetryDetail,
    TaskDetail,
)
from greenflow.persistence._sql._schema import ATOM_TYPES

__all__ = [
    "atom_from_row",
    "atom_values",
    "book_from_row",
    "book_values",
    "encoded_size",
    "flow_from_row",
    "flow_values",
    "iso",
    "utcnow",
]

_DETAIL_CLASSES: Final[dict[str, type[AtomDetail]]] = {
    "TASK_DETAIL": TaskDetail,
    "RETRY_DETAIL": RetryDetail,
}
_STATES: Final = frozenset(
    getattr(states, name) for name in states.__all__ if name.isupper() and name not in {"EXECUTE", "RETRY"}
) - {states.REVERT}
_INTENTIONS: Final = frozenset({states.EXECUTE, states.REVERT, states.RETRY, states.IGNORE})
# UTF-8 text, not ``\u`` escapes: non-ASCII results take a third to a sixth of the room
# (MySQL's column and packet limits are in bytes). A string UTF-8 cannot hold (a lone
# surrogate) falls back to the escaped form, which is valid JSON too.
_ENCODER: Final = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False)
_ASCII_ENCODER: Final = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def utcnow() -> datetime.datetime:
    """Now as naive UTC, the way TaskFlow stores ``created_at``/``updated_at``."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _naive_utc(text: str | None) -> datetime.datetime:
    if not text:
        return utcnow()
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return utcnow()
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when


def iso(when: Any) -> str | None:
    """A stored (naive UTC) time as the ISO 8601 text the model holds; ``None`` stays ``None``."""
    if not isinstance(when, datetime.datetime):
        return None if when is None else str(when)
    return when.replace(tzinfo=datetime.timezone.utc).isoformat()


# -- writing ---------------------------------------------------------------------------------


def _encode(value: Any, owner: str, field: str) -> str | None:
    if value is None:
        return None
    try:
        text = _ENCODER.encode(value)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                text = _ASCII_ENCODER.encode(value)
        return text
    except (TypeError, ValueError, RecursionError) as exc:
        raise StorageError(
            f"{owner}: field {field!r} cannot be stored as JSON ({exc}); "
            f"return JSON-serialisable values (dict, list, str, int, float, bool, None) "
            f"from atoms of flows stored in a SQL backend"
        ) from exc


def encoded_size(value: Any) -> int:
    """Bytes ``value`` takes in a statement: its UTF-8 JSON plus the driver's quoting escapes."""
    text = _ENCODER.encode(value)
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    return size + sum(text.count(c) for c in "\\'\"\n\r\x00\x1a")


def failure_record(failure: Failure) -> dict[str, Any]:
    """``failure`` in TaskFlow's dict form (every cause with its own version and causes)."""
    chain: list[Failure] = []
    cause = failure.cause
    while cause is not None:
        chain.append(cause)
        cause = cause.cause
    return _record(failure, chain)


def _record(failure: Failure, inner: list[Failure]) -> dict[str, Any]:
    return {
        "exception_str": failure.exception_str,
        "traceback_str": failure.traceback_str,
        "exc_type_names": list(failure.exc_type_names),
        "version": FAILURE_FORMAT_VERSION,
        "exc_args": [],
        "causes": [_record(c, inner[i + 1 :]) for i, c in enumerate(inner)],
    }


_ATOM_JSON_FIELDS: Final = frozenset(("results", "failure", "revert_results", "revert_failure", "meta"))


def _atom_fields(detail: AtomDetail) -> dict[str, Any]:
    """Column values of ``detail`` but ``updated_at``, its JSON columns as the values to encode."""
    results = detail.results
    if isinstance(detail, RetryDetail):
        results = [
            [result, {name: failure_record(f) for name, f in failures.items()}]
            for result, failures in (results or ())
        ]
    failure = detail.failure
    revert_failure = detail.revert_failure
    return {
        "name": detail.name,
        "atom_type": ATOM_TYPES[detail.kind],
        "state": detail.state,
        "intention": detail.intention,
        "version": detail.version,
        "results": results,
        "failure": failure_record(failure) if failure is not None else None,
        "revert_results": detail.revert_results,
        "revert_failure": failure_record(revert_failure) if revert_failure is not None else None,
        "meta": detail.meta,
    }


def atom_values(detail: AtomDetail, now: datetime.datetime) -> dict[str, Any]:
    """Column values of ``detail`` (everything but ``uuid``, ``parent_uuid`` and ``created_at``)."""
    owner = f"atom {detail.name!r} ({detail.uuid})"
    values = {
        key: _encode(value, owner, key) if key in _ATOM_JSON_FIELDS else value
        for key, value in _atom_fields(detail).items()
    }
    values["updated_at"] = now
    return values


def atom_json(detail: AtomDetail, stamp: str) -> str | None:
    """``detail``'s row as one JSON object, its JSON columns nested, ``updated_at`` ``stamp``.

    What PostgreSQL's ``json_populate_recordset`` reads (a ``json`` column keeps
    a nested value's text as it is): one encoder call per row where
    ``atom_values`` makes one per column. ``None`` when a value cannot be
    encoded this way; ``atom_values`` then says which field and why.
    """
    fields = _atom_fields(detail)
    fields["updated_at"] = stamp
    try:
        text = _ENCODER.encode(fields)
    except (TypeError, ValueError, RecursionError):
        return None
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: atom_values escapes that field alone
            return None
    return text


def flow_values(flow: FlowDetail, now: datetime.datetime) -> dict[str, Any]:
    """Column values of ``flow`` (everything but ``uuid``, ``parent_uuid`` and ``created_at``)."""
    return {
        "name": flow.name,
        "state": flow.state,
        "meta": _encode(flow.meta, f"flow {flow.name!r} ({flow.uuid})", "meta"),
        "updated_at": now,
    }


def book_values(book: LogBook, now: datetime.datetime | None) -> dict[str, Any]:
    """Column values of ``book`` (everything but ``uuid``).

    ``now`` is the time of an update; ``None`` for a logbook being inserted,
    whose ``updated_at`` stays what the logbook holds (``None`` until a save updates it).
    """
    return {
        "name": book.name,
        "meta": _encode(book.meta, f"logbook {book.name!r} ({book.uuid})", "meta"),
        "created_at": _naive_utc(book.created_at),
        "updated_at": now if now is not None else (_naive_utc(book.updated_at) if book.updated_at else None),
    }


# -- reading ---------------------------------------------------------------------------------


def _bad(table: str, uuid: Any, problem: str) -> StorageError:
    return StorageError(f"corrupt row in table {table!r} (uuid {uuid!r}): {problem}")


def _decode(row: Mapping[Any, Any], column: str, table: str) -> Any:
    text = row[column]
    if text is None:
        return None
    if not isinstance(text, str):  # a driver that parsed the JSON itself
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _bad(table, row["uuid"], f"column {column!r} holds invalid JSON ({exc})") from exc


def _failure(row: Mapping[Any, Any], column: str, table: str) -> Failure | None:
    data = _decode(row, column, table)
    if data is None:
        return None
    try:
        return Failure.from_dict(data)
    except InvalidOptionError as exc:
        raise _bad(table, row["uuid"], f"column {column!r} holds no failure ({exc})") from exc


def _meta(row: Mapping[Any, Any], table: str) -> dict[str, Any]:
    meta = _decode(row, "meta", table)
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise _bad(table, row["uuid"], f"column 'meta' holds {type(meta).__name__}, not an object")
    return meta


def _state(row: Mapping[Any, Any], table: str, allowed: frozenset[str], column: str = "state") -> str:
    value = row[column]
    if value not in allowed:
        raise _bad(table, row["uuid"], f"unknown {column} {value!r} (expected one of {sorted(allowed)})")
    return str(value)


def atom_from_row(row: Mapping[Any, Any]) -> AtomDetail:
    """An atom detail from an ``atomdetails`` row; ``StorageError`` naming the row if it is bad."""
    table = "atomdetails"
    cls = _DETAIL_CLASSES.get(row["atom_type"])
    if cls is None:
        raise _bad(
            table,
            row["uuid"],
            f"unknown atom_type {row['atom_type']!r} (expected TASK_DETAIL or RETRY_DETAIL)",
        )
    detail = cls(row["name"], row["uuid"])
    detail.state = _state(row, table, _STATES)
    detail.intention = _state(row, table, _INTENTIONS, "intention") if row["intention"] else states.EXECUTE
    results = _decode(row, "results", table)
    if cls is RetryDetail:
        try:
            results = [
                (result, {name: Failure.from_dict(f) for name, f in failures.items()})
                for result, failures in (results or ())
            ]
        except (TypeError, ValueError, AttributeError, InvalidOptionError) as exc:
            raise _bad(table, row["uuid"], f"column 'results' holds no retry history ({exc})") from exc
    detail.results = results
    detail.failure = _failure(row, "failure", table)
    detail.revert_results = _decode(row, "revert_results", table)
    detail.revert_failure = _failure(row, "revert_failure", table)
    detail.meta = _meta(row, table)
    detail.version = row["version"]
    return detail


def flow_from_row(row: Mapping[Any, Any]) -> FlowDetail:
    """A flow detail (without atoms) from a ``flowdetails`` row."""
    flow = FlowDetail(row["name"], row["uuid"])
    flow.state = None if row["state"] is None else _state(row, "flowdetails", _STATES)  # None: never ran
    flow.meta = _meta(row, "flowdetails")
    return flow


def book_from_row(row: Mapping[Any, Any]) -> LogBook:
    """A logbook (without flows) from a ``logbooks`` row."""
    book = LogBook(row["name"], row["uuid"])
    book.meta = _meta(row, "logbooks")
    book.created_at = iso(row["created_at"]) or book.created_at
    book.updated_at = iso(row["updated_at"])
    return book

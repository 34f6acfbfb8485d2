"""The persisted model: a logbook holds flow details, a flow detail holds atom details.

Field names follow TaskFlow's (uuid, name, state, intention, results,
failure, revert_results, revert_failure, meta, version; a logbook also has
created_at and updated_at). ``to_dict()`` gives the JSON-safe, versioned
form backends store; ``from_dict()`` reads it back and rejects what it does
not understand with a ``StorageError``. ``json_error()`` tells whether a
value (a result, an injected value) can be stored at all.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import uuid as uuidlib
from collections.abc import Iterator
from typing import Any, Final

from greenflow import states
from greenflow.exceptions import InvalidOptionError, StorageError
from greenflow.failure import Failure

__all__ = [
    "MODEL_FORMAT_VERSION",
    "AtomDetail",
    "FlowDetail",
    "LogBook",
    "RetryDetail",
    "TaskDetail",
    "json_error",
    "new_uuid",
    "version_text",
]

#: Version of the dicts produced by ``to_dict()``; bump on any change.
MODEL_FORMAT_VERSION: Final = 1


def new_uuid() -> str:
    """A fresh random identifier, as text."""
    return str(uuidlib.uuid4())


def version_text(version: Any) -> str | None:
    """An atom's version as its records hold it: dotted text (``(1, 0)`` -> ``'1.0'``), or ``None``.

    Records keep the text, as TaskFlow's do: what a backend stores (``'4.2'``,
    ``'1.0-beta'``) is what it reads back.
    """
    if version is None:
        return None
    if type(version) is tuple:
        try:
            known = _VERSION_TEXTS.get(version)
        except TypeError:  # an unhashable part: worked out below, not kept
            known = None
        if known is not None:
            return known
    if isinstance(version, (tuple, list)):
        text = ".".join(str(part) for part in version)
        if type(version) is tuple and len(_VERSION_TEXTS) < 256:
            with contextlib.suppress(TypeError):  # atoms of a class share a version: one text
                _VERSION_TEXTS[version] = text
        return text
    return str(version)


_VERSION_TEXTS: dict[tuple[Any, ...], str] = {}


def now_iso() -> str:
    """The current UTC time in ISO 8601 (the timestamps stored in records)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def json_error(value: Any) -> str | None:
    """Why ``value`` cannot be stored as JSON, or ``None`` when it can.

    NaN and infinities are refused: PostgreSQL's JSON types and strict
    parsers reject them, and a record must read back the same on every backend.
    """
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        return str(exc) or type(exc).__name__
    key = _non_string_key(value)
    if key is not None:
        # JSON would turn {1: 'a'} into {'1': 'a'}: the value would not read back the same.
        return f"dict key {key!r:.80} is not a string (JSON object keys are strings)"
    return None


def _non_string_key(value: Any) -> object | None:
    """The first dict key in ``value`` that is not a string (``None`` if every key is one)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    return key if key is not None else "None"
                if isinstance(inner, (dict, list, tuple)):
                    stack.append(inner)
        elif isinstance(item, (list, tuple)):
            stack.extend(x for x in item if isinstance(x, (dict, list, tuple)))
    return None


def _failure_to_dict(failure: Failure | None) -> dict[str, Any] | None:
    return failure.to_dict() if failure is not None else None


def _failure_from_dict(data: dict[str, Any] | None) -> Failure | None:
    return Failure.from_dict(data) if data is not None else None


# What a malformed record raises while being read (``Failure.from_dict``'s error is a TypeError).
_BAD_RECORD: Final = (KeyError, TypeError, ValueError, AttributeError)


#: The state and intention names a record may hold (every state constant greenflow defines).
_STATE_NAMES: Final = frozenset(
    getattr(states, name)
    for name in states.__all__
    if name.isupper() and isinstance(getattr(states, name), str)
)
_INTENTION_NAMES: Final = frozenset({states.EXECUTE, states.REVERT, states.RETRY, states.IGNORE})


def _known(value: Any, allowed: frozenset[str], field: str) -> str:
    if value not in allowed:
        raise ValueError(f"{field} {value!r:.80} (expected one of {sorted(allowed)})")
    return str(value)


def _header(record: Any, indent: int, *fields: tuple[str, Any]) -> list[str]:
    """The first lines of a record's ``pformat``: its kind and name, then ``- field = value`` lines."""
    pad = " " * (indent + 1)
    lines = [f"{' ' * indent}{type(record).__name__}: {record.name!r}"]
    lines.extend(f"{pad}- {field} = {value}" for field, value in fields)
    meta = record.meta
    if meta:
        lines.append(f"{pad}- meta:")
        for key, value in meta.items():
            if key == "progress" and isinstance(value, (int, float)):
                value = f"{value * 100.0:0.2f}%"
            lines.append(f"{pad}  + {key} = {value}")
    return lines


def _check_format(data: dict[str, Any], what: str) -> None:
    version = data.get("format", MODEL_FORMAT_VERSION)
    if version != MODEL_FORMAT_VERSION:
        raise StorageError(
            f"{what} {data.get('name')!r} has format version {version!r}; this greenflow reads "
            f"version {MODEL_FORMAT_VERSION} (upgrade greenflow to read it)"
        )


def _check_same_record(mine: Any, other: Any, what: str) -> None:
    if type(other) is not type(mine) or other.uuid != mine.uuid:
        raise InvalidOptionError(
            f"cannot update {what} {mine.name!r} ({mine.uuid}) from {type(other).__name__} "
            f"{getattr(other, 'name', other)!r} ({getattr(other, 'uuid', None)}): not the same record"
        )


#: The fields ``AtomDetail.update`` copies (all but the uuid).
_ATOM_FIELDS: Final = (
    "name",
    "state",
    "intention",
    "results",
    "failure",
    "revert_results",
    "revert_failure",
    "_meta",
    "_version",
)


class AtomDetail:
    """The record of one atom in one flow run: state, intention, results, failures."""

    __slots__ = (
        "_meta",
        "_uuid",
        "_version",
        "failure",
        "intention",
        "name",
        "results",
        "revert_failure",
        "revert_results",
        "state",
    )
    kind: str = "atom"

    def __init__(self, name: str, uuid: str | None = None) -> None:
        self._uuid = uuid
        self.name = name
        self.state: str = states.PENDING
        self.intention: str = states.EXECUTE
        self.results: Any = None
        self.failure: Failure | None = None
        self.revert_results: Any = None
        self.revert_failure: Failure | None = None
        self._meta: dict[str, Any] | None = None
        self._version: str | None = None

    @property
    def meta(self) -> dict[str, Any]:
        """Free-form data about the atom (durations, ...); made on first use."""
        if self._meta is None:
            self._meta = {}
        return self._meta

    @meta.setter
    def meta(self, value: dict[str, Any]) -> None:
        self._meta = value

    @property
    def version(self) -> str | None:
        """The version of the atom that made the record, as dotted text (``'1.0'``), or ``None``.

        A tuple or list set here is kept as its text (``(1, 0)`` -> ``'1.0'``),
        so every backend reads back the same value.
        """
        return self._version

    @version.setter
    def version(self, value: Any) -> None:
        self._version = version_text(value)

    @property
    def uuid(self) -> str:
        """The detail's identifier (made on first use: in-memory runs rarely need one)."""
        if self._uuid is None:
            self._uuid = new_uuid()
        return self._uuid

    def update(self, other: AtomDetail) -> AtomDetail:
        """Take every field of ``other`` (the same record, as a backend returned it); returns this detail."""
        if other is self:
            return self
        _check_same_record(self, other, "atom detail")
        for field in _ATOM_FIELDS:
            setattr(self, field, getattr(other, field))
        return self

    def reset(self, state: str = states.PENDING) -> None:
        """Forget results and failures; set ``state`` and intention EXECUTE."""
        self.state = state
        self.intention = states.EXECUTE
        self.results = None
        self.failure = None
        self.revert_results = None
        self.revert_failure = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe, versioned form (results must be JSON-safe for real backends)."""
        return {
            "format": MODEL_FORMAT_VERSION,
            "kind": self.kind,
            "uuid": self.uuid,
            "name": self.name,
            "state": self.state,
            "intention": self.intention,
            "results": self.results,
            "failure": _failure_to_dict(self.failure),
            "revert_results": self.revert_results,
            "revert_failure": _failure_to_dict(self.revert_failure),
            "meta": self._meta or {},
            "version": self._version,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> AtomDetail:
        """Rebuild a task or retry detail from ``to_dict()`` output."""
        try:
            _check_format(data, "atom detail")
            cls = _DETAIL_KINDS[data["kind"]]
            detail = cls(data["name"], data["uuid"])
            detail.state = _known(data["state"], _STATE_NAMES, "state")
            detail.intention = _known(data["intention"], _INTENTION_NAMES, "intention")
            detail.results = data.get("results")
            detail.failure = _failure_from_dict(data.get("failure"))
            detail.revert_results = data.get("revert_results")
            detail.revert_failure = _failure_from_dict(data.get("revert_failure"))
            detail.meta = dict(data.get("meta") or {})
            detail.version = data.get("version")  # a list, as records of older greenflows hold: its text
            if detail.kind == "retry":
                detail.results = [
                    (r, {k: Failure.from_dict(v) for k, v in f.items()}) for r, f in (detail.results or [])
                ]
        except _BAD_RECORD as exc:
            raise StorageError(f"not an atom detail record: {data!r:.300} (missing or bad {exc})") from exc
        return detail

    def pformat(self, indent: int = 0, linesep: str = "\n") -> str:
        """The record for people to read: kind and name, then one ``- field = value`` line each."""
        fields = (
            ("uuid", self.uuid),
            ("state", self.state),
            ("intention", self.intention),
            ("version", self._version),
            ("results", self.results),
            ("failure", self.failure is not None),
        )
        return linesep.join(_header(self, indent, *fields))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, state={self.state}, intention={self.intention})"


class TaskDetail(AtomDetail):
    """The record of a task: ``results`` is what ``execute`` returned."""

    __slots__ = ()
    kind = "task"


class RetryDetail(AtomDetail):
    """The record of a retry: ``results`` is its history, ``[(result, {atom: Failure}), ...]``."""

    __slots__ = ()
    kind = "retry"

    def __init__(self, name: str, uuid: str | None = None) -> None:
        super().__init__(name, uuid)
        self.results = []

    def reset(self, state: str = states.PENDING) -> None:
        """Forget the current attempt (the history stays)."""
        history = self.results
        super().reset(state)
        self.results = history

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["results"] = [[r, {k: v.to_dict() for k, v in f.items()}] for r, f in self.results]
        return data


_DETAIL_KINDS: Final[dict[str, type[AtomDetail]]] = {"task": TaskDetail, "retry": RetryDetail}


def _same_uuid(a: AtomDetail, b: AtomDetail) -> bool:
    """Whether two details are one record (a uuid not made yet is nobody else's)."""
    return a._uuid is not None and a._uuid == b._uuid


class FlowDetail:
    """The record of one flow run: its state, meta, and its atoms' details.

    Atom details are records, told apart by uuid: adding one replaces the
    detail of the same name and uuid, and one with a name already held but
    another uuid is kept beside it (an engine gives each of its atoms one
    detail; a record written elsewhere may hold several of one name, and
    TaskFlow's model allows it). ``find_by_name`` gives the one added last.

    ``state`` is ``None`` until an engine records one (storage reads a flow
    that never ran as ``PENDING``), as in TaskFlow's records.
    """

    __slots__ = ("_by_name", "_shadowed", "_uuid", "meta", "name", "state")

    def __init__(self, name: str, uuid: str | None = None) -> None:
        self._uuid = uuid
        self.name = name
        self.state: str | None = None
        self.meta: dict[str, Any] = {}
        self._by_name: dict[str, AtomDetail] = {}
        # Earlier details of a name _by_name holds another record of (rare: None until needed).
        self._shadowed: list[AtomDetail] | None = None

    @property
    def uuid(self) -> str:
        """The detail's identifier (made on first use)."""
        if self._uuid is None:
            self._uuid = new_uuid()
        return self._uuid

    def update(self, other: FlowDetail) -> FlowDetail:
        """Take the state, meta and atom details of ``other`` (the same record, as a backend returned it).

        Returns this flow detail.
        """
        if other is self:
            return self
        _check_same_record(self, other, "flow detail")
        self.name, self.state, self.meta = other.name, other.state, other.meta
        self._by_name = dict(other._by_name)
        self._shadowed = list(other._shadowed) if other._shadowed else None
        return self

    def add(self, detail: AtomDetail) -> None:
        """Add an atom detail, replacing the one with its name and uuid (see the class docstring)."""
        if self._shadowed:  # it may replace a shadowed record of its uuid
            kept = [d for d in self._shadowed if d is not detail and not _same_uuid(d, detail)]
            self._shadowed = kept or None
        held = self._by_name.get(detail.name)
        if held is not None and held is not detail and not _same_uuid(held, detail):
            if self._shadowed is None:
                self._shadowed = []
            self._shadowed.append(held)
        self._by_name[detail.name] = detail

    def find(self, uuid: str) -> AtomDetail | None:
        """The atom detail with this uuid, if any."""
        for detail in self:
            if detail.uuid == uuid:
                return detail
        return None

    def find_by_name(self, name: str) -> AtomDetail | None:
        """The atom detail with this name (the one added last, if several have it), if any."""
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[AtomDetail]:
        if self._shadowed:
            return itertools.chain(self._shadowed, self._by_name.values())
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name) + (len(self._shadowed) if self._shadowed else 0)

    def to_dict(self, include_atoms: bool = True) -> dict[str, Any]:
        """The JSON-safe, versioned form (with the atom details unless ``include_atoms`` is false)."""
        data: dict[str, Any] = {
            "format": MODEL_FORMAT_VERSION,
            "uuid": self.uuid,
            "name": self.name,
            "state": self.state,
            "meta": self.meta,
        }
        if include_atoms:
            data["atoms"] = [a.to_dict() for a in self]
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> FlowDetail:
        """Rebuild from ``to_dict()`` output."""
        try:
            _check_format(data, "flow detail")
            fd = FlowDetail(data["name"], data["uuid"])
            fd.state = None if data["state"] is None else _known(data["state"], _STATE_NAMES, "state")
            fd.meta = dict(data.get("meta") or {})
            for atom in data.get("atoms", ()):
                fd.add(AtomDetail.from_dict(atom))
        except _BAD_RECORD as exc:
            raise StorageError(f"not a flow detail record: {data!r:.300} (missing or bad {exc})") from exc
        return fd

    def pformat(self, indent: int = 0, linesep: str = "\n") -> str:
        """The record for people to read, with its atom details indented below it."""
        lines = _header(self, indent, ("uuid", self.uuid), ("state", self.state))
        lines.extend(atom.pformat(indent + 1, linesep) for atom in self)
        return linesep.join(lines)

    def __repr__(self) -> str:
        return f"FlowDetail({self.name!r}, state={self.state}, atoms={len(self)})"


class LogBook:
    """A named collection of flow details (one per flow run)."""

    __slots__ = ("_flows", "_uuid", "created_at", "meta", "name", "updated_at")

    def __init__(self, name: str, uuid: str | None = None) -> None:
        self._uuid = uuid
        self.name = name
        self.meta: dict[str, Any] = {}
        self.created_at = now_iso()
        self.updated_at: str | None = None
        self._flows: dict[str, FlowDetail] = {}

    @property
    def uuid(self) -> str:
        """The logbook's identifier (made on first use)."""
        if self._uuid is None:
            self._uuid = new_uuid()
        return self._uuid

    def add(self, flow_detail: FlowDetail) -> None:
        """Add (or replace) a flow detail."""
        self._flows[flow_detail.uuid] = flow_detail

    def find(self, uuid: str) -> FlowDetail | None:
        """The flow detail with this uuid, if any."""
        return self._flows.get(uuid)

    def __iter__(self) -> Iterator[FlowDetail]:
        return iter(self._flows.values())

    def __len__(self) -> int:
        return len(self._flows)

    def to_dict(self, include_flows: bool = True) -> dict[str, Any]:
        """The JSON-safe, versioned form (with the flow details unless ``include_flows`` is false)."""
        data: dict[str, Any] = {
            "format": MODEL_FORMAT_VERSION,
            "uuid": self.uuid,
            "name": self.name,
            "meta": self.meta,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if include_flows:
            data["flows"] = [f.to_dict() for f in self._flows.values()]
        return data

    def pformat(self, indent: int = 0, linesep: str = "\n") -> str:
        """The logbook for people to read, with its flow and atom details indented below it."""
        fields = [("uuid", self.uuid), ("created_at", self.created_at)]
        if self.updated_at is not None:
            fields.append(("updated_at", self.updated_at))
        lines = _header(self, indent, *fields)
        lines.extend(flow.pformat(indent + 1, linesep) for flow in self)
        return linesep.join(lines)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> LogBook:
        """Rebuild from ``to_dict()`` output."""
        try:
            _check_format(data, "logbook")
            book = LogBook(data["name"], data["uuid"])
            book.meta = dict(data.get("meta") or {})
            book.created_at = data.get("created_at") or book.created_at
            book.updated_at = data.get("updated_at")
            for fd in data.get("flows", ()):
                book.add(FlowDetail.from_dict(fd))
        except _BAD_RECORD as exc:
            raise StorageError(f"not a logbook record: {data!r:.300} (missing or bad {exc})") from exc
        return book

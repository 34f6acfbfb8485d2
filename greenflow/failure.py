"""``Failure``: an exception captured as a value that can be stored, sent and re-raised.

A Failure made in-process keeps the live exception (``reraise()`` raises it
again). A Failure rebuilt from its dict form (from a logbook or a remote
worker) has only the type names, message, the exception's arguments (when they
are JSON values) and traceback text; re-raising it raises ``RemoteFailureError``
(a ``WrappedFailure`` of that one failure) carrying that text.

The dict form is TaskFlow's (version 1): ``exception_str``, ``traceback_str``,
``exc_type_names``, ``exc_args`` and ``causes``, the chain of failures this one
was raised from, nearest first, each in the same form (with its own ``causes``),
so TaskFlow reads what greenflow writes and the other way round.
"""

from __future__ import annotations

import json
import pickle
import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, NoReturn

from greenflow.exceptions import InvalidFormatError, InvalidOptionError, RemoteFailureError, WrappedFailure

__all__ = ["FAILURE_FORMAT_VERSION", "Failure", "RemoteFailureError"]

#: Version of the dict produced by ``Failure.to_dict()``; bump on any change.
FAILURE_FORMAT_VERSION: Final = 1
#: What every exception's ``exc_type_names`` ends with (``_type_names`` stops at ``Exception``).
_ROOT_TYPE_NAMES: Final = ("Exception", "BaseException")


def _type_names(exc_type: type[BaseException]) -> tuple[str, ...]:
    """The class and its bases up to ``Exception`` (``BaseException`` for the few outside it).

    TaskFlow records the same names, so the failures both write read alike.
    """
    names = []
    for cls in exc_type.__mro__:
        if cls is object:
            break
        names.append(
            f"{cls.__module__}.{cls.__qualname__}" if cls.__module__ != "builtins" else cls.__qualname__
        )
        if cls is Exception:
            break
    return tuple(names)


class Failure:
    """An exception captured with its type names, message, traceback text and cause."""

    __slots__ = (
        "_cause",
        "_exc_args",
        "_exc_info",
        "_exception",
        "_exception_str",
        "_traceback_str",
        "_type_names",
    )
    _exc_info: tuple[type[BaseException], BaseException, Any] | None
    _exception: BaseException | None

    def __init__(
        self,
        exc_info: tuple[type[BaseException], BaseException, Any] | None = None,
        *,
        exception_str: str = "",
        traceback_str: str = "",
        exc_type_names: Iterable[str] = (),
        exc_args: Iterable[Any] = (),
        cause: Failure | None = None,
        **unexpected: NoReturn,  # no value type-checks: a misspelt keyword is a type error too
    ) -> None:
        if unexpected:
            raise InvalidOptionError(
                f"Failure.__init__ got unexpected keyword argument(s): {', '.join(unexpected)}"
            )
        if exc_info is None and not exception_str and not exc_type_names:
            current = sys.exc_info()
            if current[1] is None:
                raise InvalidOptionError(
                    "Failure() needs an exception: call it inside an except block, "
                    "or use Failure.from_exception(exc)"
                )
            if not isinstance(current[1], Exception):
                # SystemExit, KeyboardInterrupt...: not a failure to record, as in TaskFlow.
                raise InvalidOptionError(
                    f"Failure() captures an Exception; the current exception is "
                    f"{type(current[1]).__name__}, which is not one (let it propagate, or record it "
                    f"with Failure.from_exception(exc))"
                )
            exc_info = current  # type: ignore[assignment]
        if exc_info is not None:
            self._capture(exc_info, _cause_chain(exc_info[1]))
        else:
            self._exc_info = None
            self._exception = None
            self._exception_str = exception_str
            self._type_names = tuple(exc_type_names)
            self._exc_args = tuple(exc_args)
            self._traceback_str = traceback_str
            self._cause = cause

    def _capture(
        self, exc_info: tuple[type[BaseException], BaseException, Any], cause: Failure | None
    ) -> None:
        exc_type, exc, tb = exc_info
        self._exc_info = exc_info
        self._exception = exc
        self._exception_str = str(exc)
        self._type_names = _type_names(exc_type)
        self._exc_args = tuple(getattr(exc, "args", ()))
        self._traceback_str = "".join(traceback.format_tb(tb)) if tb is not None else ""
        self._cause = cause

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        """Capture ``exc`` (with its traceback if it has one)."""
        return cls((type(exc), exc, exc.__traceback__))

    @property
    def exception(self) -> BaseException | None:
        """The live exception, or ``None`` for a failure rebuilt from a dict."""
        return self._exception

    @property
    def exc_info(self) -> tuple[type[BaseException], BaseException, Any] | None:
        """``sys.exc_info()``-style triple, or ``None`` for a rebuilt failure."""
        return self._exc_info

    @property
    def exception_str(self) -> str:
        """``str()`` of the exception."""
        return self._exception_str

    @property
    def traceback_str(self) -> str:
        """The formatted traceback (may be empty)."""
        return self._traceback_str

    @property
    def exc_type_names(self) -> tuple[str, ...]:
        """Qualified names of the exception class and its bases, most derived first."""
        return self._type_names

    def __iter__(self) -> Iterator[str]:
        """The exception's type names, most derived first (as iterating a TaskFlow failure gives)."""
        return iter(self._type_names)

    @property
    def exception_args(self) -> tuple[Any, ...]:
        """The arguments the exception was made with (a rebuilt failure has them if they were JSON values)."""
        return self._exc_args

    def copy(self) -> Failure:
        """Another Failure with the same contents (the live exception, if any, is shared)."""
        twin = Failure.__new__(Failure)
        for name in Failure.__slots__:
            setattr(twin, name, getattr(self, name))
        return twin

    @property
    def cause(self) -> Failure | None:
        """The failure this one was raised from (``__cause__``/``__context__``), if any."""
        return self._cause

    @property
    def causes(self) -> tuple[Failure, ...]:
        """The chain of failures this one was raised from, nearest first (empty if none)."""
        out = []
        cause = self._cause
        while cause is not None:
            out.append(cause)
            cause = cause._cause
        return tuple(out)

    def check(self, *exc_classes: type[BaseException] | str) -> type[BaseException] | str | None:
        """Return the first of ``exc_classes`` (types or qualified names) this failure matches."""
        for cls in exc_classes:
            name = (
                cls
                if isinstance(cls, str)
                else (
                    cls.__qualname__
                    if cls.__module__ == "builtins"
                    else f"{cls.__module__}.{cls.__qualname__}"
                )
            )
            if name in self._type_names:
                return cls
        return None

    def reraise(self) -> NoReturn:
        """Raise the original exception, or ``RemoteFailureError`` if it is not available."""
        if self._exception is not None:
            raise self._exception.with_traceback(self._exc_info[2] if self._exc_info else None)
        raise RemoteFailureError(self)

    @staticmethod
    def reraise_if_any(failures: Iterable[Failure], atoms: Sequence[str | None] | None = None) -> None:
        """Re-raise the only failure, or raise ``WrappedFailure`` holding several.

        ``atoms``: the name of the atom of each failure, for ``WrappedFailure``'s message.
        """
        failures = list(failures)
        if len(failures) == 1:
            failures[0].reraise()
        if failures:
            raise WrappedFailure(failures, atoms)

    def pformat(self, traceback: bool = False) -> str:
        """A readable text form: type, message and (optionally) the traceback."""
        head = (
            f"Failure: {self._type_names[0]}: {self._exception_str}"
            if self._type_names
            else f"Failure: {self._exception_str}"
        )
        if not traceback:
            return head
        if self._traceback_str.strip():
            return f"{head}\nTraceback (most recent call last):\n{self._traceback_str.rstrip()}"
        return f"{head}\nTraceback not available."

    def to_dict(self, include_args: bool = True) -> dict[str, Any]:
        """A JSON-safe dict (the persisted and wire format; see ``FAILURE_FORMAT_VERSION``).

        ``exc_args`` holds the exception's arguments when ``include_args`` is true
        and they are JSON values (otherwise it is empty: the dict stays storable).
        """
        # A list, not the tuple: the dict reads back from JSON exactly as it was written.
        args = list(self._exc_args) if include_args and _json_safe(self._exc_args) else []
        return {
            "version": FAILURE_FORMAT_VERSION,
            "exception_str": self._exception_str,
            "traceback_str": self._traceback_str,
            "exc_type_names": list(self._type_names),
            "exc_args": args,
            "causes": [cause.to_dict(include_args) for cause in self.causes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        """Rebuild a failure from ``to_dict()`` output; raises ``InvalidFormatError`` if malformed."""
        try:
            version = data.get("version", FAILURE_FORMAT_VERSION)
            if version != FAILURE_FORMAT_VERSION:
                raise InvalidFormatError(
                    f"failure dict has format version {version!r}, expected {FAILURE_FORMAT_VERSION}"
                )
            # ``causes`` is the whole chain, nearest first: each entry's own ``causes`` repeats
            # the rest of it (older greenflow records leave those out; both read the same).
            cause = None
            for cause_data in reversed(data.get("causes") or []):
                cause_version = cause_data.get("version", FAILURE_FORMAT_VERSION)
                if cause_version != FAILURE_FORMAT_VERSION:
                    raise InvalidFormatError(
                        f"failure dict has a cause in format version {cause_version!r}, "
                        f"expected {FAILURE_FORMAT_VERSION}"
                    )
                cause = cls(
                    exception_str=cause_data["exception_str"],
                    traceback_str=cause_data.get("traceback_str") or "",
                    exc_type_names=cause_data["exc_type_names"],
                    exc_args=cause_data.get("exc_args") or (),
                    cause=cause,
                )
            return cls(
                exception_str=data["exception_str"],
                traceback_str=data.get("traceback_str") or "",
                exc_type_names=data["exc_type_names"],
                exc_args=data.get("exc_args") or (),
                cause=cause,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidFormatError(f"not a failure dict: {data!r} ({exc})") from exc

    @classmethod
    def validate(cls, data: object) -> None:
        """Check that ``data`` is a whole failure dict, causes included; raise ``InvalidFormatError`` if not.

        Stricter than ``from_dict()``, which also reads records that leave optional
        keys out: every failure and cause needs ``exception_str`` and ``traceback_str``
        (strings) and ``exc_type_names`` (strings ending with ``Exception`` or
        ``BaseException``, the roots every exception class has).
        """
        pending: list[tuple[str, object]] = [("failure dict", data)]
        while pending:
            where, item = pending.pop()
            if not isinstance(item, Mapping):
                raise InvalidFormatError(f"{where} is not a dict: {item!r}")
            for key in ("exception_str", "traceback_str"):
                if not isinstance(item.get(key), str):
                    raise InvalidFormatError(f"{where}: {key!r} must be a string, got {item.get(key)!r}")
            names = item.get("exc_type_names")
            if (
                not isinstance(names, (list, tuple))
                or not names
                or not all(isinstance(n, str) for n in names)
            ):
                raise InvalidFormatError(
                    f"{where}: 'exc_type_names' must be a non-empty list of strings, got {names!r}"
                )
            if names[-1] not in _ROOT_TYPE_NAMES:
                raise InvalidFormatError(
                    f"{where}: 'exc_type_names' must end with one of {', '.join(_ROOT_TYPE_NAMES)} "
                    f"(the root of every exception class), not {names[-1]!r}"
                )
            version = item.get("version", FAILURE_FORMAT_VERSION)
            if version != FAILURE_FORMAT_VERSION or isinstance(version, bool):
                raise InvalidFormatError(
                    f"{where} has format version {version!r}, expected {FAILURE_FORMAT_VERSION}"
                )
            if not isinstance(item.get("exc_args", ()), (list, tuple)):
                raise InvalidFormatError(f"{where}: 'exc_args' must be a list, got {item.get('exc_args')!r}")
            causes = item.get("causes") or []
            if not isinstance(causes, (list, tuple)):
                raise InvalidFormatError(f"{where}: 'causes' must be a list, got {causes!r}")
            pending.extend((f"{where}, cause {i}", cause) for i, cause in enumerate(causes))

    def matches(self, other: object) -> bool:
        """True when ``other`` describes the same exception type and message (ignores tracebacks)."""
        return (
            isinstance(other, Failure)
            and self._type_names == other._type_names
            and self._exception_str == other._exception_str
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Failure):
            return NotImplemented
        return self.matches(other) and self._traceback_str == other._traceback_str

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        # Process executors send failures between processes. A traceback cannot be
        # pickled, so the dict form travels, with the exception itself only when it
        # survives a round trip (many exception classes cannot be rebuilt from args).
        return (_unpickle, (self.to_dict(), _portable(self._exception)))

    def __repr__(self) -> str:
        return f"Failure({self.pformat()!r})"

    def __str__(self) -> str:
        return self.pformat()


def _cause_chain(exc: BaseException) -> Failure | None:
    """The failures ``exc`` was raised from (``__cause__``, else ``__context__``), nearest first.

    Walked iteratively, each exception once: a chain may loop back on itself
    (an exception re-raised from one it caused), which must not recurse forever.
    """
    seen = {id(exc)}
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None:
        candidates = (
            (current.__cause__,)
            if current.__suppress_context__
            else (
                current.__cause__,
                current.__context__,
            )
        )
        current = next((c for c in candidates if c is not None and id(c) not in seen), None)
        if current is not None:
            seen.add(id(current))
            chain.append(current)
    cause = None
    for inner in reversed(chain):
        failure = Failure.__new__(Failure)
        failure._capture((type(inner), inner, inner.__traceback__), cause)
        cause = failure
    return cause


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _portable(exc: BaseException | None) -> BaseException | None:
    if exc is None:
        return None
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    return exc


def _unpickle(data: dict[str, Any], exc: BaseException | None) -> Failure:
    failure = Failure.from_dict(data)
    if exc is not None:
        failure._exception = exc
        failure._exc_info = (type(exc), exc, None)
        failure._exc_args = tuple(getattr(exc, "args", ()))
    return failure

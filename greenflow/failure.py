"""``Failure``: an exception captured as a value that can be stored, sent and re-raised.

A Failure made in-process keeps the live exception (``reraise()`` raises it
again). A Failure rebuilt from its dict form (from a logbook or a remote
worker) has only the type names, message and traceback text; re-raising it
raises ``RemoteFailureError`` carrying that text.
"""

from __future__ import annotations

import pickle
import sys
import traceback
from collections.abc import Iterable, Sequence
from typing import Any, Final, NoReturn

from greenflow.exceptions import InvalidOptionError, RemoteFailureError, WrappedFailure

__all__ = ["FAILURE_FORMAT_VERSION", "Failure", "RemoteFailureError"]

#: Version of the dict produced by ``Failure.to_dict()``; bump on any change.
FAILURE_FORMAT_VERSION: Final = 1


def _type_names(exc_type: type[BaseException]) -> tuple[str, ...]:
    names = []
    for cls in exc_type.__mro__:
        if cls is object:
            break
        names.append(
            f"{cls.__module__}.{cls.__qualname__}" if cls.__module__ != "builtins" else cls.__qualname__
        )
    return tuple(names)


class Failure:
    """An exception captured with its type names, message, traceback text and cause."""

    __slots__ = ("_cause", "_exc_info", "_exception", "_exception_str", "_traceback_str", "_type_names")

    def __init__(
        self,
        exc_info: tuple[type[BaseException], BaseException, Any] | None = None,
        *,
        exception_str: str = "",
        traceback_str: str = "",
        exc_type_names: Iterable[str] = (),
        cause: Failure | None = None,
    ) -> None:
        if exc_info is None and not exception_str and not exc_type_names:
            current = sys.exc_info()
            if current[1] is None:
                raise InvalidOptionError(
                    "Failure() needs an exception: call it inside an except block, "
                    "or use Failure.from_exception(exc)"
                )
            exc_info = current  # type: ignore[assignment]
        if exc_info is not None:
            exc_type, exc, tb = exc_info
            self._exc_info: tuple[type[BaseException], BaseException, Any] | None = exc_info
            self._exception: BaseException | None = exc
            self._exception_str = str(exc)
            self._type_names = _type_names(exc_type)
            self._traceback_str = "".join(traceback.format_tb(tb)) if tb is not None else ""
            inner = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
            self._cause = Failure.from_exception(inner) if inner is not None else None
        else:
            self._exc_info = None
            self._exception = None
            self._exception_str = exception_str
            self._type_names = tuple(exc_type_names)
            self._traceback_str = traceback_str
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
        head = f"Failure: {self._type_names[0] if self._type_names else 'Exception'}: {self._exception_str}"
        if traceback and self._traceback_str:
            return f"{head}\nTraceback (most recent call last):\n{self._traceback_str.rstrip()}"
        return head

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (the persisted and wire format; see ``FAILURE_FORMAT_VERSION``)."""
        data: dict[str, Any] = {
            "version": FAILURE_FORMAT_VERSION,
            "exception_str": self._exception_str,
            "traceback_str": self._traceback_str,
            "exc_type_names": list(self._type_names),
            "causes": [],
        }
        cause = self._cause
        while cause is not None:
            data["causes"].append(
                {
                    "exception_str": cause._exception_str,
                    "traceback_str": cause._traceback_str,
                    "exc_type_names": list(cause._type_names),
                }
            )
            cause = cause._cause
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        """Rebuild a failure from ``to_dict()`` output; raises ``InvalidOptionError`` if malformed."""
        try:
            version = data.get("version", FAILURE_FORMAT_VERSION)
            if version != FAILURE_FORMAT_VERSION:
                raise InvalidOptionError(
                    f"failure dict has format version {version!r}, expected {FAILURE_FORMAT_VERSION}"
                )
            cause = None
            for cause_data in reversed(data.get("causes") or []):
                cause = cls(
                    exception_str=cause_data["exception_str"],
                    traceback_str=cause_data.get("traceback_str", ""),
                    exc_type_names=cause_data["exc_type_names"],
                    cause=cause,
                )
            return cls(
                exception_str=data["exception_str"],
                traceback_str=data.get("traceback_str", ""),
                exc_type_names=data["exc_type_names"],
                cause=cause,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidOptionError(f"not a failure dict: {data!r} ({exc})") from exc

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
    return failure

"""``taskflow.exceptions``: TaskFlow's exception names, mapped onto greenflow's exceptions.

Why aliases and not subclass registration: an ``except`` clause matches on the
real class hierarchy (CPython does not consult ``__subclasscheck__`` or ABC
registration there), so ``except taskflow.exceptions.NotFound`` can only catch
what greenflow raises if ``NotFound`` *is* greenflow's class or one of its
bases. So every name greenflow raises is an alias of greenflow's class; names
greenflow never raises are defined here, below ``TaskFlowException``, so user
code can raise and catch them as in TaskFlow.

Consequences (documented in the README): the greenflow hierarchy is slightly
wider than TaskFlow's (``DependencyFailure`` is a ``CompilationFailure``;
``NotFound`` is also a ``KeyError``); ``ExecutionFailure`` and ``InvalidState``
are the same class; the aliased classes take only a message (no ``cause=``).
"""

from __future__ import annotations

import builtins
from typing import Any, NoReturn

from greenflow import exceptions as _gf

# Names greenflow raises: the very same classes.
TaskFlowException = _gf.GreenflowError
StorageFailure = _gf.StorageError
DependencyFailure = _gf.DependencyError
MissingDependencies = _gf.MissingDependencyError
AmbiguousDependency = _gf.AmbiguousDependencyError
CompilationFailure = _gf.CompilationError
Duplicate = _gf.DuplicateNameError
NotFound = _gf.NotFoundError
ExecutionFailure = _gf.EngineStateError
InvalidState = _gf.EngineStateError
WrappedFailure = _gf.WrappedFailure
JobFailure = _gf.JobError
UnclaimableJob = _gf.UnclaimableJobError


class _CausedError(TaskFlowException):
    """A TaskFlow exception greenflow never raises; keeps TaskFlow's ``cause``."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self._cause = cause

    @property
    def cause(self) -> BaseException | None:
        """The exception this one was raised because of, if any."""
        return self._cause

    def pformat(self, indent: int = 2, indent_text: str = " ", show_root_class: bool = False) -> str:
        """This exception and its causes, one per line, each indented under the previous."""
        lines = []
        exc: BaseException | None = self
        depth = 0
        while exc is not None:
            name = type(exc).__name__ if (depth or show_root_class) else ""
            text = f"{name}: {exc}" if name else str(exc)
            lines.append(indent_text * (indent * depth) + text)
            exc = getattr(exc, "cause", None) or exc.__cause__
            depth += 1
        return "\n".join(lines)


class ConductorFailure(_CausedError):
    """A conductor failed (greenflow's conductors do not raise it; kept for TaskFlow's code)."""


class RequestTimeout(ExecutionFailure, _CausedError):
    """A remote request timed out (an ``ExecutionFailure``, as in TaskFlow)."""


class IncompatibleVersion(_CausedError):
    """Two versions cannot work together."""


class Empty(_CausedError):
    """Something was empty that should not be."""


class MultipleChoices(_CausedError):
    """Several choices where one was expected."""


class InvalidFormat(_CausedError):
    """A value does not have the expected format."""


class DisallowedAccess(_CausedError):
    """Access to something was not allowed."""


class NotImplementedError(builtins.NotImplementedError):
    """A TaskFlow feature greenflow does not implement (the message names it)."""


def raise_with_cause(exc_cls: type[BaseException], message: str, *args: Any, **kwargs: Any) -> NoReturn:
    """Raise ``exc_cls(message, ...)`` chained to the exception being handled."""
    import sys

    cause = kwargs.pop("cause", None) or sys.exc_info()[1]
    if issubclass(exc_cls, _CausedError):
        kwargs["cause"] = cause
    raise exc_cls(message, *args, **kwargs) from cause


__all__ = [
    "AmbiguousDependency",
    "CompilationFailure",
    "ConductorFailure",
    "DependencyFailure",
    "DisallowedAccess",
    "Duplicate",
    "Empty",
    "ExecutionFailure",
    "IncompatibleVersion",
    "InvalidFormat",
    "InvalidState",
    "JobFailure",
    "MissingDependencies",
    "MultipleChoices",
    "NotFound",
    "NotImplementedError",
    "RequestTimeout",
    "StorageFailure",
    "TaskFlowException",
    "UnclaimableJob",
    "WrappedFailure",
    "raise_with_cause",
]

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
are the same class. Every one takes TaskFlow's ``cause=`` and has its ``cause`` and
``pformat()`` (greenflow's errors do); the few with constructors of their own
(``MissingDependencies``, ``WrappedFailure``...) take greenflow's arguments.
"""

from __future__ import annotations

import builtins
import inspect
import sys
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
InvalidFormat = _gf.InvalidFormatError


class ConductorFailure(TaskFlowException):
    """A conductor failed (greenflow's conductors do not raise it; kept for TaskFlow's code)."""


class RequestTimeout(ExecutionFailure):
    """A remote request timed out (an ``ExecutionFailure``, as in TaskFlow)."""


class IncompatibleVersion(TaskFlowException):
    """Two versions cannot work together."""


class Empty(TaskFlowException):
    """Something was empty that should not be."""


class MultipleChoices(TaskFlowException):
    """Several choices where one was expected."""


class DisallowedAccess(TaskFlowException):
    """Access to something was not allowed."""


class NotImplementedError(builtins.NotImplementedError):
    """A TaskFlow feature greenflow does not implement (the message names it)."""


def raise_with_cause(exc_cls: type[BaseException], message: str, *args: Any, **kwargs: Any) -> NoReturn:
    """Raise ``exc_cls(message, ...)`` because of ``cause=`` (default: the exception being handled).

    The cause is the new error's ``cause`` and ``__cause__``; ``exc_cls`` must be a
    ``TaskFlowException`` (``ValueError`` otherwise, as in TaskFlow).
    """
    if not (isinstance(exc_cls, type) and issubclass(exc_cls, TaskFlowException)):
        raise ValueError(f"raise_with_cause() needs a TaskFlowException subclass, not {exc_cls!r}")
    cause = kwargs.pop("cause", None) or sys.exc_info()[1]
    if "cause" in inspect.signature(exc_cls).parameters:
        # Classes with a constructor of their own (MissingDependencies...) get it as __cause__ only.
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

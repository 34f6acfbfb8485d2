"""Every exception greenflow raises, in one flat hierarchy.

Each class says who raises it. Messages name the flow, the atom and the
value at fault, so the reader knows what to change without a debugger.

The bottom of the layers: this module imports nothing from greenflow (a test
checks it), so every layer, hubs included, can raise these. The packages that
raise them re-export theirs (``greenflow.hubs.HubError``,
``greenflow.executors.ExecutorError``, ``greenflow.failure.RemoteFailureError``).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

__all__ = [
    "AmbiguousDependencyError",
    "ClaimLostError",
    "CompilationError",
    "CycleError",
    "DependencyError",
    "DuplicateNameError",
    "EngineStateError",
    "ExecutorError",
    "ExecutorPicklingError",
    "ExecutorShutdownError",
    "GreenHubRequiredError",
    "GreenflowError",
    "HubConfigError",
    "HubError",
    "HubMismatchError",
    "HubNotPatchedError",
    "HubUnavailableError",
    "InvalidExecutorError",
    "InvalidOptionError",
    "JobError",
    "JobNotFoundError",
    "MissingDependencyError",
    "NotFoundError",
    "ProtocolError",
    "RemoteFailureError",
    "RequestTimeout",
    "StorageError",
    "UnclaimableJobError",
    "UnknownExecutorError",
    "UnknownHubError",
    "WorkerError",
    "WrappedFailure",
]


class _Failure(Protocol):
    """What these exceptions read of a ``greenflow.failure.Failure`` (which imports this module)."""

    @property
    def exception_str(self) -> str: ...
    @property
    def exc_type_names(self) -> Sequence[str]: ...
    def check(self, *exc_classes: Any) -> Any: ...


class GreenflowError(Exception):
    """Base class of every greenflow error."""

    @property
    def cause(self) -> BaseException | None:
        """The exception this one was raised from (``raise ... from``), if any."""
        return self.__cause__


class CompilationError(GreenflowError):
    """Raised by the compiler when a flow cannot be turned into an execution graph."""


class DuplicateNameError(CompilationError):
    """Raised when two atoms (or an atom and a flow) in one flow share a name."""


class DependencyError(CompilationError):
    """Base of the data-flow errors found by the compiler or a pattern's ``add()``."""


class CycleError(DependencyError):
    """Raised when the links of a graph flow form a cycle; the message lists the cycle."""


class MissingDependencyError(DependencyError):
    """Raised when an atom requires a value that no earlier atom provides and nothing injects."""

    def __init__(self, message: str, *, flow: str, atom: str, missing: frozenset[str]) -> None:
        super().__init__(message)
        self.flow = flow
        self.atom = atom
        self.missing = missing


class AmbiguousDependencyError(DependencyError):
    """Raised when an atom's requirement has several equally close providers."""


class InvalidOptionError(GreenflowError, TypeError, ValueError):
    """Raised for a misspelt or mistyped argument or option (engine options, atom arguments).

    Both a ``TypeError`` and a ``ValueError``: callers catching either for a bad
    argument (TaskFlow raises ``ValueError`` for many of these) catch it.
    """


class EngineStateError(GreenflowError):
    """Raised when an engine method is called in a state that does not allow it.

    Examples: ``run()`` while the same engine is already running, a flow-level
    state transition the state machine forbids.
    """


class NotFoundError(GreenflowError, KeyError):
    """Raised by storage when a name, atom or result is not there."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StorageError(GreenflowError):
    """Raised by storage and persistence backends when a record cannot be read or written."""


class WrappedFailure(GreenflowError):
    """Raised by an engine when several atoms failed; holds one Failure per atom.

    Iterating gives the failures; ``check(*exc_types)`` returns the first of the
    given types one of them matches (TaskFlow's meaning), ``find(*exc_types)``
    the matching failure (or ``None``). ``atoms`` names the atom of each
    failure (``None`` where it is not known); the message names each atom and
    its exception type: ``2 atoms failed: 'boot' (TimeoutError: ...), 'attach' (ValueError: ...)``.
    A given failure whose exception is itself a ``WrappedFailure`` is replaced by
    the failures that one wraps (so wrapping never nests).
    """

    def __init__(self, failures: Iterable[Any], atoms: Sequence[str | None] | None = None) -> None:
        given = list(failures)
        names = list(atoms) if atoms is not None else [None] * len(given)
        self._failures: list[Any] = []
        flat_atoms: list[str | None] = []
        for failure, atom in zip(given, names, strict=False):
            inner = getattr(failure, "exception", None)
            if isinstance(inner, WrappedFailure):
                # A failure capturing a WrappedFailure stands for the failures it wraps.
                self._failures.extend(inner._failures)
                flat_atoms.extend(inner.atoms)
            else:
                self._failures.append(failure)
                flat_atoms.append(atom)
        self.atoms: tuple[str | None, ...] = tuple(flat_atoms)
        parts = []
        for failure, atom in zip(self._failures, self.atoms, strict=False):
            names = failure.exc_type_names
            what = f"{names[0].rpartition('.')[2] if names else 'Exception'}: {failure.exception_str}"
            parts.append(f"{atom!r} ({what})" if atom is not None else f"({what})")
        super().__init__(f"{len(self._failures)} atoms failed: {', '.join(parts)}")

    def __iter__(self) -> Iterator[Any]:
        return iter(self._failures)

    def __len__(self) -> int:
        return len(self._failures)

    def check(self, *exc_classes: Any) -> Any:
        """Return the first of ``exc_classes`` that one of the failures matches (as ``Failure.check``).

        Use ``find(*exc_classes)`` for the matching ``Failure`` itself.
        """
        for failure in self._failures:
            matched = failure.check(*exc_classes)
            if matched is not None:
                return matched
        return None

    def find(self, *exc_classes: Any) -> Any:
        """Return the first failure whose exception matches one of ``exc_classes``."""
        for failure in self._failures:
            if failure.check(*exc_classes) is not None:
                return failure
        return None


class WorkerError(GreenflowError):
    """Raised by remote workers and ``WorkerExecutor`` (``greenflow.workers``).

    A worker also sends it back as the failure of a request it cannot serve: a
    task class it was not told to serve, a result that is not JSON.
    """


class ProtocolError(WorkerError):
    """Raised when a worker message is malformed; ``field`` names the field at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class RequestTimeout(WorkerError):
    """The failure of an atom whose request got no reply from a worker within the timeout.

    Set by ``WorkerExecutor``; ``atom`` and ``topic`` say what was sent where.
    """

    def __init__(self, message: str, *, atom: str, topic: str, timeout: float) -> None:
        super().__init__(message)
        self.atom = atom
        self.topic = topic
        self.timeout = timeout


class JobError(GreenflowError):
    """Raised by jobboards (``greenflow.jobs``): the board cannot be reached, a posting is malformed."""


class JobNotFoundError(JobError, NotFoundError):
    """Raised by a jobboard when a job is not on the board (consumed, trashed, never posted)."""


class UnclaimableJobError(JobError):
    """Raised by ``JobBoard.claim`` when another owner holds the job's claim."""


class ClaimLostError(JobError):
    """Raised when a fenced write is refused: the writer's claim on the job has lapsed or moved.

    Raised by a jobboard's ``consume``/``abandon``/``trash`` and by the fenced
    persistence connection a conductor gives each job's engine; ``job`` is the
    job's uuid, ``token`` the fencing token the writer held.
    """

    def __init__(self, message: str, *, job: str, token: int) -> None:
        super().__init__(message)
        self.job = job
        self.token = token


class RemoteFailureError(WrappedFailure):
    """Raised by ``Failure.reraise()`` when the original exception object is not available.

    A Failure rebuilt from a logbook or a remote worker's reply has only its
    type names and message; ``failure`` is that Failure. It is the
    ``WrappedFailure`` of that one failure (as TaskFlow raises for it), so
    ``check(RuntimeError)`` and ``except WrappedFailure`` work on it too.
    """

    def __init__(self, failure: _Failure) -> None:
        super().__init__([failure])
        self.args = (f"{failure.exception_str} ({'.'.join(failure.exc_type_names[:1])})",)
        self.failure = failure


# -- hubs (``greenflow.hubs``) ------------------------------------------------------------------


class HubError(GreenflowError):
    """Base of every hub error; raised by :func:`greenflow.hubs.get_hub` and :func:`~greenflow.hubs.patch`."""


class UnknownHubError(HubError, ValueError):
    """Raised by ``get_hub()`` and ``patch()`` for a hub name that is not one of the valid names."""


class HubConfigError(HubError):
    """Raised by ``select_hub()`` and ``get_hub()`` when ``GREENFLOW_CONFIG`` or a variable is unusable."""


class HubNotPatchedError(HubError):
    """Raised by ``get_hub()`` when a green hub is requested but the process is not monkey-patched at all."""


class HubMismatchError(HubError):
    """Raised by ``get_hub()`` and ``patch()`` when the requested hub differs from the active monkey patching.

    Examples: ``gevent`` requested in an eventlet-patched process, ``patch('eventlet')``
    after ``patch('gevent')``, or ``threading`` requested in a patched process
    without ``allow_unpatched``.
    """


class HubUnavailableError(HubError, ImportError):
    """Raised by ``get_hub()`` and ``patch()`` when the library behind a hub is not installed."""


# -- executors (``greenflow.executors``) ----------------------------------------------------------


class ExecutorError(GreenflowError):
    """Base of every executor error."""


class UnknownExecutorError(ExecutorError, ValueError):
    """Raised by ``make_executor()`` for an executor name it does not know; the message lists valid names."""


class InvalidExecutorError(ExecutorError, TypeError):
    """Raised by ``make_executor()`` for a value that is neither an executor name nor an executor object."""


class ExecutorShutdownError(ExecutorError, RuntimeError):
    """Raised by ``submit()`` of every greenflow executor after its ``shutdown()``.

    A :class:`RuntimeError`, like the error of the ``concurrent.futures`` executors.
    """


class ExecutorPicklingError(ExecutorError, pickle.PicklingError):
    """Raised by ``ProcessExecutor.submit()`` when the callable or its arguments cannot be pickled."""


class GreenHubRequiredError(ExecutorError):
    """Raised by ``GreenExecutor()`` when the hub it would run on is not green (gevent or eventlet)."""

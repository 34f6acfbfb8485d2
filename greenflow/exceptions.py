"""Every exception greenflow raises, in one flat hierarchy.

Each class says who raises it. Messages name the flow, the atom and the
value at fault, so the reader knows what to change without a debugger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from greenflow.failure import Failure

__all__ = [
    "AmbiguousDependencyError",
    "ClaimLostError",
    "CompilationError",
    "CycleError",
    "DependencyError",
    "DuplicateNameError",
    "EngineStateError",
    "GreenflowError",
    "InvalidOptionError",
    "JobError",
    "JobNotFoundError",
    "MissingDependencyError",
    "NotFoundError",
    "ProtocolError",
    "RequestTimeout",
    "StorageError",
    "UnclaimableJobError",
    "WorkerError",
    "WrappedFailure",
]


class GreenflowError(Exception):
    """Base class of every greenflow error."""


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


class InvalidOptionError(GreenflowError, TypeError):
    """Raised for a misspelt or mistyped argument or option (engine options, atom arguments)."""


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
    the matching failure (or ``None``).
    """

    def __init__(self, failures: list[Failure]) -> None:
        self._failures = list(failures)
        names = ", ".join(f"{f.exception_str}" for f in self._failures)
        super().__init__(f"{len(self._failures)} atoms failed: {names}")

    def __iter__(self) -> Iterator[Failure]:
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

    def find(self, *exc_classes: Any) -> Failure | None:
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

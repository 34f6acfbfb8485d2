"""Retries: atoms that decide what happens when something in their flow fails.

A retry is attached to a flow (``Flow(name, retry=...)``) and runs before the
flow's atoms; its result is provided to them. When an atom in its flow fails,
``on_failure(history)`` returns a ``Decision``: run the flow again (``RETRY``),
revert this flow and let the enclosing retry decide (``REVERT``), or revert
everything (``REVERT_ALL``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from greenflow.atoms._atom import Atom
from greenflow.exceptions import InvalidOptionError, NotFoundError

if TYPE_CHECKING:
    from greenflow.failure import Failure

__all__ = [
    "AlwaysRevert",
    "AlwaysRevertAll",
    "Decision",
    "ForEach",
    "History",
    "ParameterizedForEach",
    "Retry",
    "Times",
]


class Decision(str, enum.Enum):
    """What a retry controller wants done after a failure in its flow."""

    RETRY = "RETRY"
    REVERT = "REVERT"
    REVERT_ALL = "REVERT_ALL"

    def __str__(self) -> str:
        return self.value


class History:
    """The attempts of a retry so far: ``(result, {atom name: Failure})`` per attempt.

    ``failure`` is the retry's own failure (if its ``execute`` failed).
    """

    __slots__ = ("_contents", "failure")

    def __init__(
        self, contents: Iterable[tuple[Any, dict[str, Failure]]] = (), failure: Failure | None = None
    ):
        self._contents = list(contents)
        self.failure = failure

    def __iter__(self) -> Iterator[tuple[Any, dict[str, Failure]]]:
        return iter(self._contents)

    def __len__(self) -> int:
        return len(self._contents)

    def __getitem__(self, index: int) -> tuple[Any, dict[str, Failure]]:
        return self._contents[index]

    def provided_iter(self) -> Iterator[Any]:
        """The retry's result for each attempt."""
        return (result for result, _ in self._contents)

    def outcomes_iter(self) -> Iterator[tuple[Any, dict[str, Failure]]]:
        """``(result, failures)`` for each attempt."""
        return iter(self._contents)

    def caused_by(self, exception_cls: Any, include_retry: bool = False) -> bool:
        """Whether any recorded failure matches ``exception_cls``."""
        if include_retry and self.failure is not None and self.failure.check(exception_cls):
            return True
        return any(f.check(exception_cls) for _, failures in self._contents for f in failures.values())

    def __repr__(self) -> str:
        return f"History({self._contents!r})"


class Retry(Atom):
    """Base of retry controllers: define ``on_failure``, and ``execute``/``revert`` if needed.

    ``execute(history, ...)`` returns the value provided to the flow's atoms
    on each attempt; ``on_failure(history, ...)`` returns a ``Decision``.
    """

    _skip_args: ClassVar[frozenset[str]] = frozenset({"history"})

    def __init__(
        self,
        name: str | None = None,
        provides: Any = None,
        requires: Any = None,
        auto_extract: bool = True,
        rebind: Any = None,
    ) -> None:
        self._auto_named = name is None
        super().__init__(name, provides, requires, auto_extract, rebind)

    def execute(self, history: History, *args: Any, **kwargs: Any) -> Any:
        """Return the value for this attempt; the default returns ``None``."""
        return None

    def revert(self, history: History, *args: Any, **kwargs: Any) -> Any:
        """Undo what ``execute`` did; the default does nothing."""

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        """Decide what to do after a failure in this retry's flow."""
        raise NotImplementedError(
            f"retry {self.name!r} ({type(self).__qualname__}) does not define on_failure()"
        )


class AlwaysRevert(Retry):
    """Never retries: reverts its flow and lets the enclosing retry decide."""

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        return Decision.REVERT


class AlwaysRevertAll(Retry):
    """Never retries: reverts the whole flow, whatever enclosing retries say."""

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        return Decision.REVERT_ALL


class _Bounded(Retry):
    """Shared by controllers that give up with REVERT or REVERT_ALL."""

    def __init__(
        self,
        name: str | None = None,
        provides: Any = None,
        requires: Any = None,
        auto_extract: bool = True,
        rebind: Any = None,
        revert_all: bool = False,
    ) -> None:
        super().__init__(name, provides, requires, auto_extract, rebind)
        self._give_up = Decision.REVERT_ALL if revert_all else Decision.REVERT


class Times(_Bounded):
    """Runs its flow up to ``attempts`` times; provides the attempt number (1-based).

    The flow always runs once: ``attempts`` 0 and 1 both mean it is never retried
    (TaskFlow's programs use 0 for that).
    """

    def __init__(
        self,
        attempts: int = 1,
        name: str | None = None,
        provides: Any = None,
        requires: Any = None,
        auto_extract: bool = True,
        rebind: Any = None,
        revert_all: bool = False,
    ) -> None:
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 0:
            raise InvalidOptionError(f"Times(attempts=...) must be an integer >= 0, got {attempts!r}")
        self._attempts = attempts
        super().__init__(name, provides, requires, auto_extract, rebind, revert_all)

    def execute(self, history: History, *args: Any, **kwargs: Any) -> int:
        return len(history) + 1

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        return Decision.RETRY if len(history) < self._attempts else self._give_up


class _ValuesRetry(_Bounded):
    """Tries each value in turn; gives up when every value has failed."""

    def _values_left(self, values: Iterable[Any], history: History) -> list[Any]:
        # Each tried value uses up one occurrence: a value listed twice is tried twice.
        left = list(values)
        for tried in history.provided_iter():
            try:
                left.remove(tried)
            except ValueError:
                pass
        return left

    def _next(self, values: Iterable[Any], history: History) -> Any:
        left = self._values_left(values, history)
        if not left:
            raise NotFoundError(
                f"No elements left to try in retry {self.name!r}: every value has been tried, or it has none"
            )
        return left[0]

    def _decide(self, values: Iterable[Any], history: History) -> Decision:
        return Decision.RETRY if self._values_left(values, history) else self._give_up


class ForEach(_ValuesRetry):
    """Runs its flow once per value of ``values`` until one attempt succeeds."""

    def __init__(
        self,
        values: Iterable[Any],
        name: str | None = None,
        provides: Any = None,
        requires: Any = None,
        auto_extract: bool = True,
        rebind: Any = None,
        revert_all: bool = False,
    ) -> None:
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
            raise InvalidOptionError(f"ForEach(values=...) must be a list or tuple, got {values!r}")
        self._values = list(values)
        super().__init__(name, provides, requires, auto_extract, rebind, revert_all)

    def execute(self, history: History, *args: Any, **kwargs: Any) -> Any:
        return self._next(self._values, history)

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        return self._decide(self._values, history)


class ParameterizedForEach(_ValuesRetry):
    """Like ``ForEach``, with the values taken from the required symbol ``values``."""

    def execute(self, history: History, values: Any) -> Any:  # type: ignore[override]
        return self._next(values, history)

    def on_failure(self, history: History, values: Any) -> Decision:  # type: ignore[override]
        return self._decide(values, history)

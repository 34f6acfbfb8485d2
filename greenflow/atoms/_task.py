"""Tasks: atoms whose ``execute`` does the work and whose ``revert`` undoes it."""

from __future__ import annotations

import contextvars
import copy
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final

from greenflow.atoms._atom import Atom
from greenflow.exceptions import InvalidOptionError
from greenflow.notifier import Notifier

__all__ = [
    "EVENT_UPDATE_PROGRESS",
    "FunctorTask",
    "MapFunctorTask",
    "ReduceFunctorTask",
    "Task",
    "progress_sink",
]

_LOG = logging.getLogger(__name__)

#: Event sent on the engine's atom notifier by ``Task.update_progress()``.
EVENT_UPDATE_PROGRESS = "update_progress"

#: Where ``update_progress`` reports, set by the engine around each execution. A
#: context variable (not an attribute) because one task object may run in many
#: engines at once, on threads or greenlets.
progress_sink: contextvars.ContextVar[Callable[[Any, float], None] | None] = contextvars.ContextVar(
    "greenflow_progress_sink", default=None
)


class Task(Atom):
    """A unit of work: subclass it and define ``execute(...)`` (and ``revert(...)``).

    ``execute``'s named arguments are its requirements; what it returns is
    stored under ``provides``. ``revert`` receives the same arguments plus
    ``result`` (what ``execute`` returned, or the ``Failure`` it raised) and
    ``flow_failures`` (``{atom name: Failure}`` for every failure that caused
    the revert).
    """

    _skip_args: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        name: str | None = None,
        provides: Any = None,
        requires: Any = None,
        auto_extract: bool = True,
        rebind: Any = None,
        inject: Mapping[str, Any] | None = None,
        ignore_list: Iterable[str] | None = None,
        revert_rebind: Any = None,
        revert_requires: Any = None,
    ) -> None:
        super().__init__(
            name,
            provides,
            requires,
            auto_extract,
            rebind,
            inject,
            ignore_list,
            revert_rebind,
            revert_requires,
        )
        self._notifier: Notifier | None = None

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Do the work; override in subclasses."""
        raise NotImplementedError(f"task {self.name!r} ({type(self).__qualname__}) does not define execute()")

    def revert(self, *args: Any, **kwargs: Any) -> Any:
        """Undo what ``execute`` did; the default does nothing."""

    def pre_execute(self) -> None:
        """Called just before ``execute``."""

    def post_execute(self) -> None:
        """Called just after ``execute`` (whether it failed or not)."""

    def pre_revert(self) -> None:
        """Called just before ``revert``."""

    def post_revert(self) -> None:
        """Called just after ``revert``."""

    @property
    def notifier(self) -> Notifier:
        """Per-task notifier; ``update_progress`` events are sent on it and on the engine's."""
        if self._notifier is None:
            self._notifier = Notifier()
        return self._notifier

    def copy(self, retain_listeners: bool = True) -> Task:
        """A shallow copy of this task, with a notifier of its own (holding the same callbacks, if asked)."""
        twin = copy.copy(self)
        twin._notifier = self._notifier.copy() if retain_listeners and self._notifier else None
        return twin

    def update_progress(self, progress: float) -> None:
        """Report progress between 0.0 and 1.0 to the listeners (others are clamped, with a warning)."""
        progress = float(progress)
        if not 0.0 <= progress <= 1.0:
            clamped = min(1.0, max(0.0, progress))
            _LOG.warning(
                "task %r reported progress %r, outside 0.0..1.0; using %r", self.name, progress, clamped
            )
            progress = clamped
        sink = progress_sink.get()
        if sink is not None:
            sink(self, progress)
        if self._notifier:
            self._notifier.notify(EVENT_UPDATE_PROGRESS, {"progress": progress})


class FunctorTask(Task):
    """A task made from a function (and optionally a revert function)."""

    def __init__(
        self,
        execute: Callable[..., Any],
        name: str | None = None,
        provides: Any = None,
        requires: Any = None,
        auto_extract: bool = True,
        rebind: Any = None,
        revert: Callable[..., Any] | None = None,
        version: tuple[int, int] | None = None,
        inject: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(execute):
            raise InvalidOptionError(f"FunctorTask needs a callable for execute, got {execute!r}")
        if revert is not None and not callable(revert):
            raise InvalidOptionError(f"FunctorTask revert must be callable, got {revert!r}")
        if name is None:
            name = f"{getattr(execute, '__module__', '')}.{getattr(execute, '__qualname__', repr(execute))}"
        self._execute_fn = execute
        self._revert_fn = revert
        if version is not None:
            self.version = version
        super().__init__(name, provides, requires, auto_extract, rebind, inject)

    def _execute_callable(self) -> Callable[..., Any]:
        return self._execute_fn

    def _revert_callable(self) -> Callable[..., Any] | None:
        return self._revert_fn

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._execute_fn(*args, **kwargs)

    def revert(self, *args: Any, **kwargs: Any) -> Any:
        if self._revert_fn is not None:
            return self._revert_fn(*args, **kwargs)
        return None


_DICT_KEYS: Final[type] = type({}.keys())


class _CollectionFunctorTask(Task):
    """Shared shape of map/reduce tasks: one functor applied to every required value."""

    _min_requires: ClassVar[int] = 1

    def __init__(
        self,
        functor: Callable[..., Any],
        requires: Iterable[str],
        name: str | None = None,
        provides: Any = None,
        auto_extract: bool = True,
        rebind: Any = None,
        inject: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(functor):
            raise InvalidOptionError(f"{type(self).__name__} needs a callable functor, got {functor!r}")
        # Ordered collections only: the values are mapped or folded in this order.
        if not isinstance(requires, (list, tuple, _DICT_KEYS)):
            raise InvalidOptionError(
                f"{type(self).__name__} requires must be a list of names (or a tuple, or a dict's "
                f"keys), got {requires!r}"
            )
        requires = list(requires)
        if len(requires) < self._min_requires:
            raise InvalidOptionError(
                f"{type(self).__name__} needs at least {self._min_requires} required names, "
                f"got {list(requires)!r}"
            )
        if name is None:
            name = f"{getattr(functor, '__module__', '')}.{getattr(functor, '__qualname__', repr(functor))}"
        self._functor = functor
        self._value_names = tuple(requires)
        super().__init__(name, provides, requires, auto_extract, rebind, inject)

    def execute(self, **kwargs: Any) -> Any:
        return self._combine([kwargs[n] for n in self._value_names])

    def _combine(self, values: list[Any]) -> Any:
        raise NotImplementedError


class MapFunctorTask(_CollectionFunctorTask):
    """Applies ``functor`` to each required value; provides the list of results."""

    def _combine(self, values: list[Any]) -> Any:
        return [self._functor(v) for v in values]


class ReduceFunctorTask(_CollectionFunctorTask):
    """Folds the required values (in order) with the two-argument ``functor``."""

    _min_requires = 2

    def _combine(self, values: list[Any]) -> Any:
        return functools.reduce(self._functor, values)

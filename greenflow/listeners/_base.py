"""``Listener``: the base of objects that watch one engine's notifications.

Use as a context manager (``with TimingListener(engine): engine.run()``) or
call ``register()``/``deregister()``. Subclasses override ``_flow_receiver``,
``_task_receiver`` and ``_retry_receiver``; each gets ``(state, details)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from greenflow.atoms import EVENT_UPDATE_PROGRESS
from greenflow.exceptions import InvalidOptionError
from greenflow.notifier import ANY

if TYPE_CHECKING:
    from types import TracebackType

    from greenflow.engines import Engine

__all__ = ["Listener"]


def _as_tuple(name: str, value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise InvalidOptionError(f"{name} must be a state name or a list of them, got {value!r}") from None


class Listener:
    """Receives the flow, task and retry state changes of one engine."""

    def __init__(
        self,
        engine: Engine,
        task_listen_for: Iterable[str] | str = (ANY,),
        flow_listen_for: Iterable[str] | str = (ANY,),
        retry_listen_for: Iterable[str] | str = (ANY,),
    ) -> None:
        if not hasattr(engine, "atom_notifier") or not hasattr(engine, "notifier"):
            raise InvalidOptionError(f"a listener watches an engine, got {engine!r}")
        self._engine = engine
        self._task_for = frozenset(_as_tuple("task_listen_for", task_listen_for))
        self._flow_for = _as_tuple("flow_listen_for", flow_listen_for)
        self._retry_for = frozenset(_as_tuple("retry_listen_for", retry_listen_for))
        self._registered = False

    @property
    def engine(self) -> Engine:
        """The engine being watched."""
        return self._engine

    def register(self) -> None:
        """Start receiving notifications (idempotent)."""
        if self._registered:
            return
        for state in self._flow_for:
            self._engine.notifier.register(state, self._on_flow)
        if self._task_for or self._retry_for:
            self._engine.atom_notifier.register(ANY, self._on_atom)
        self._registered = True

    def deregister(self) -> None:
        """Stop receiving notifications (idempotent)."""
        if not self._registered:
            return
        for state in self._flow_for:
            self._engine.notifier.deregister(state, self._on_flow)
        if self._task_for or self._retry_for:
            self._engine.atom_notifier.deregister(ANY, self._on_atom)
        self._registered = False

    def __enter__(self) -> Listener:
        self.register()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.deregister()

    def _on_flow(self, state: str, details: Mapping[str, Any]) -> None:
        self._flow_receiver(state, details)

    def _on_atom(self, state: str, details: Mapping[str, Any]) -> None:
        if state == EVENT_UPDATE_PROGRESS:
            self._progress_receiver(details)
        elif "task_name" in details:
            if ANY in self._task_for or state in self._task_for:
                self._task_receiver(state, details)
        elif ANY in self._retry_for or state in self._retry_for:
            self._retry_receiver(state, details)

    def _flow_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        """Called on each flow state change; override."""

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        """Called on each task state change; override."""

    def _retry_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        """Called on each retry state change; override."""

    def _progress_receiver(self, details: Mapping[str, Any]) -> None:
        """Called on each progress report of a task; override."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._engine!r})"

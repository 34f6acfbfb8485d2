"""``Notifier``: callbacks registered per event type (a state name) or for any event.

Engines hold two: ``engine.notifier`` (flow state changes) and
``engine.atom_notifier`` (atom state changes and progress). A notifier with no
callbacks is falsy, so the engine skips building details nobody reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Final

from greenflow.exceptions import InvalidOptionError, ReservedKeywordError

__all__ = ["ANY", "Notifier"]

#: Register for this event type to receive every event.
ANY: Final = "*"

_LOG = logging.getLogger(__name__)

Callback = Callable[..., Any]


class _Listener:
    __slots__ = ("args", "callback", "details_filter", "kwargs")

    def __init__(
        self,
        callback: Callback,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        details_filter: Callable[[Mapping[str, Any]], bool] | None,
    ) -> None:
        self.callback = callback
        self.args = args
        self.kwargs = kwargs
        self.details_filter = details_filter

    def matches(self, callback: Callback, details_filter: object) -> bool:
        return self.callback == callback and self.details_filter == details_filter


class Notifier:
    """Dispatches ``(event_type, details)`` to the callbacks registered for it.

    A callback is called as ``callback(event_type, *args, details=details, **kwargs)``
    (TaskFlow's calling convention).
    An exception raised by a callback is logged (a warning) and never stops the engine.
    ``ANY`` is for registering only: notifying ``ANY`` calls nobody.
    """

    __slots__ = ("_listeners",)

    #: The same as the module's ``ANY``; callers also spell it ``Notifier.ANY``.
    ANY: ClassVar[str] = ANY

    def __init__(self) -> None:
        self._listeners: dict[str, list[_Listener]] = {}

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def __len__(self) -> int:
        return sum(len(v) for v in self._listeners.values())

    def register(
        self,
        event_type: str,
        callback: Callback,
        args: tuple[Any, ...] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        details_filter: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        """Call ``callback`` on every ``event_type`` event (``ANY`` for all events)."""
        if not callable(callback):
            raise InvalidOptionError(f"notifier callback must be callable, got {callback!r}")
        if details_filter is not None and not callable(details_filter):
            raise InvalidOptionError(f"details_filter must be callable, got {details_filter!r}")
        if kwargs and "details" in kwargs:
            raise ReservedKeywordError(
                f"callback {callback!r} for {event_type!r}: 'details' cannot be one of its kwargs "
                f"(the notifier passes the event's details under that name)"
            )
        if self.is_registered(event_type, callback, details_filter):
            raise InvalidOptionError(f"callback {callback!r} is already registered for {event_type!r}")
        listener = _Listener(callback, tuple(args or ()), dict(kwargs or {}), details_filter)
        self._listeners.setdefault(event_type, []).append(listener)

    def is_registered(
        self,
        event_type: str,
        callback: Callback,
        details_filter: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> bool:
        """Whether ``callback`` (with that filter) is registered for ``event_type``."""
        return any(lst.matches(callback, details_filter) for lst in self._listeners.get(event_type, ()))

    def deregister(
        self,
        event_type: str,
        callback: Callback,
        details_filter: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> bool:
        """Remove a registration; returns whether one was removed."""
        listeners = self._listeners.get(event_type)
        if not listeners:
            return False
        for i, lst in enumerate(listeners):
            if lst.matches(callback, details_filter):
                del listeners[i]
                if not listeners:
                    del self._listeners[event_type]
                return True
        return False

    def deregister_event(self, event_type: str) -> int:
        """Remove every callback registered for ``event_type``; returns how many."""
        return len(self._listeners.pop(event_type, ()))

    def reset(self) -> None:
        """Remove every registration."""
        self._listeners.clear()

    def listeners_iter(self) -> Iterator[tuple[str, list[Callback]]]:
        """``(event type, [callback, ...])`` for each event type something is registered for."""
        for event_type, listeners in self._listeners.items():
            yield event_type, [lst.callback for lst in listeners]

    def copy(self) -> Notifier:
        """Another notifier with the same registrations (registering on one leaves the other alone)."""
        twin = type(self).__new__(type(self))
        for cls in type(self).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if hasattr(self, name):
                    setattr(twin, name, getattr(self, name))
        twin._listeners = {event: list(listeners) for event, listeners in self._listeners.items()}
        return twin

    @staticmethod
    def can_trigger_notification(event_type: str) -> bool:
        """Whether notifying ``event_type`` can call anything (``ANY`` is for registering only)."""
        return event_type != ANY

    def notify(self, event_type: str, details: Mapping[str, Any]) -> None:
        """Call the callbacks registered for ``event_type`` and for ``ANY`` (each once)."""
        if event_type == ANY:
            return
        for key in (event_type, ANY):
            for lst in tuple(self._listeners.get(key, ())):
                if lst.details_filter is not None and not lst.details_filter(details):
                    continue
                try:
                    lst.callback(event_type, *lst.args, details=details, **lst.kwargs)
                except Exception:
                    _LOG.warning(
                        "notifier callback %r failed on event %r", lst.callback, event_type, exc_info=True
                    )

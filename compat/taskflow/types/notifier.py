"""``taskflow.types.notifier``: greenflow's ``Notifier`` (``Notifier.ANY`` is ``'*'``) and TaskFlow's
``RestrictedNotifier``, a notifier that accepts only the event types it was made with."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from greenflow.exceptions import InvalidOptionError
from greenflow.notifier import ANY, Callback, Notifier

#: The logger notifier problems go to (greenflow's: a callback that raised).
LOG = logging.getLogger("greenflow.notifier")

__all__ = ["ANY", "LOG", "Notifier", "RestrictedNotifier"]


class RestrictedNotifier(Notifier):
    """A ``Notifier`` whose callbacks may only be registered for ``watchable_events``
    (and ``ANY``, unless ``allow_any`` is false); anything else raises a ``ValueError``."""

    __slots__ = ("_allow_any", "_watchable")

    def __init__(self, watchable_events: Iterable[str], allow_any: bool = True) -> None:
        super().__init__()
        self._watchable = frozenset(watchable_events)
        self._allow_any = bool(allow_any)

    @property
    def events(self) -> frozenset[str]:
        """The event types callbacks may be registered for (``ANY`` aside)."""
        return self._watchable

    def events_iter(self) -> Iterable[str]:
        """The event types callbacks may be registered for (``ANY`` aside)."""
        return iter(self._watchable)

    def register(
        self,
        event_type: str,
        callback: Callback,
        args: tuple[Any, ...] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        details_filter: Any = None,
    ) -> None:
        """As ``Notifier.register``, for one of the watchable event types only."""
        allowed = event_type in self._watchable or (event_type == ANY and self._allow_any)
        if not allowed:
            known = sorted(self._watchable) + ([ANY] if self._allow_any else [])
            raise InvalidOptionError(
                f"cannot register for event {event_type!r}: this notifier only emits {known}"
            )
        super().register(event_type, callback, args, kwargs, details_filter)

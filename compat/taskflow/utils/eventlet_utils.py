"""``taskflow.utils.eventlet_utils``: whether eventlet can be used."""

from __future__ import annotations

import importlib.util

__all__ = ["EVENTLET_AVAILABLE", "check_for_eventlet"]

#: eventlet is installed (greenflow's eventlet hub also needs the process patched).
EVENTLET_AVAILABLE = importlib.util.find_spec("eventlet") is not None


def check_for_eventlet(exc: BaseException | None = None) -> None:
    """Raise ``exc`` (or a ``RuntimeError``) when eventlet is not installed."""
    if not EVENTLET_AVAILABLE:
        raise (
            exc
            if exc is not None
            else RuntimeError("eventlet is not available: install it with: pip install greenflow[eventlet]")
        )

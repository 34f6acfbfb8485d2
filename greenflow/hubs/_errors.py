"""Errors raised while choosing, loading or patching a hub.

They live here until they move into :mod:`greenflow.exceptions`; all of them
derive from :class:`~greenflow.exceptions.GreenflowError`.
"""

from __future__ import annotations

from greenflow.exceptions import GreenflowError

__all__ = [
    "HubConfigError",
    "HubError",
    "HubMismatchError",
    "HubNotPatchedError",
    "HubUnavailableError",
    "UnknownHubError",
]


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

"""Persistence: the logbook model and the backends that store it.

``fetch_backend(conf)`` takes a URL (``memory://``) or a TaskFlow-style dict
``{'connection': URL}`` and returns a backend. The directory and SQL
backends plug in here under their URL schemes.
"""

from __future__ import annotations

from typing import Any

from greenflow.exceptions import InvalidOptionError
from greenflow.persistence._memory import MemoryBackend
from greenflow.persistence._models import (
    MODEL_FORMAT_VERSION,
    AtomDetail,
    FlowDetail,
    LogBook,
    RetryDetail,
    TaskDetail,
    new_uuid,
)

__all__ = [
    "MODEL_FORMAT_VERSION",
    "AtomDetail",
    "FlowDetail",
    "LogBook",
    "MemoryBackend",
    "RetryDetail",
    "TaskDetail",
    "fetch_backend",
    "new_uuid",
]

_SCHEMES = {"memory": MemoryBackend}


def fetch_backend(conf: Any) -> Any:
    """Return the backend a URL or ``{'connection': URL, ...}`` dict names."""
    if isinstance(conf, str):
        conf = {"connection": conf}
    if not isinstance(conf, dict) or not isinstance(conf.get("connection"), str):
        raise InvalidOptionError(
            f"a persistence backend is named by a URL or a dict {{'connection': URL}}, got {conf!r}"
        )
    url: str = conf["connection"]
    scheme = url.split("://", 1)[0] if "://" in url else url
    try:
        factory = _SCHEMES[scheme]
    except KeyError:
        raise InvalidOptionError(
            f"unknown persistence backend {scheme!r} in {url!r}; known: {sorted(_SCHEMES)}"
        ) from None
    return factory(conf)

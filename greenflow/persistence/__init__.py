"""Persistence: the logbook model and the backends that store it.

``fetch_backend(conf)`` takes a URL or a TaskFlow-style dict ``{'connection':
URL, ...}`` and returns a backend: ``memory://`` (in this process),
``dir:///path`` or ``file:///path`` (a directory), SQLAlchemy URLs
(``sqlite:///file.db``, ``postgresql://...``, ``mysql+pymysql://...``) and
``zookeeper://h1:2181,h2:2181/path`` (ZooKeeper, with kazoo).
Backends are loaded by scheme on first use, so their libraries (SQLAlchemy,
drivers) are imported only when asked for. ``fetch_backend`` makes a new
backend its caller owns; ``shared_backend(conf)`` returns the one backend of
this process for that configuration (what ``load()``, ``run()`` and
``run_many()`` use when given a URL or dict), closed at exit.
"""

from __future__ import annotations

import importlib
from typing import Any

from greenflow.exceptions import InvalidOptionError
from greenflow.masking import mask_conf, mask_url
from greenflow.persistence._base import Backend, Connection
from greenflow.persistence._claims import make_owner, owner_is_stale
from greenflow.persistence._memory import MemoryBackend
from greenflow.persistence._models import (
    MODEL_FORMAT_VERSION,
    AtomDetail,
    FlowDetail,
    LogBook,
    RetryDetail,
    TaskDetail,
    json_error,
    new_uuid,
    version_text,
)
from greenflow.persistence._shared import close_shared_backends, shared_backend, shared_backends

__all__ = [
    "MODEL_FORMAT_VERSION",
    "AtomDetail",
    "Backend",
    "Connection",
    "FlowDetail",
    "LogBook",
    "MemoryBackend",
    "RetryDetail",
    "TaskDetail",
    "close_shared_backends",
    "fetch_backend",
    "json_error",
    "make_owner",
    "new_uuid",
    "owner_is_stale",
    "shared_backend",
    "shared_backends",
    "version_text",
]

# URL scheme (before any "+driver") -> "module:class", imported on first use.
_SCHEMES: dict[str, str] = {
    "memory": "greenflow.persistence._memory:MemoryBackend",
    "dir": "greenflow.persistence._dir:DirBackend",
    "file": "greenflow.persistence._dir:DirBackend",
    "sqlite": "greenflow.persistence._sql:SqlBackend",
    "postgresql": "greenflow.persistence._sql:SqlBackend",
    "postgres": "greenflow.persistence._sql:SqlBackend",
    "mysql": "greenflow.persistence._sql:SqlBackend",
    "mariadb": "greenflow.persistence._sql:SqlBackend",
    "zookeeper": "greenflow.persistence._zookeeper:ZooKeeperBackend",
    "zk": "greenflow.persistence._zookeeper:ZooKeeperBackend",
    "kazoo": "greenflow.persistence._zookeeper:ZooKeeperBackend",
}


def fetch_backend(conf: Any) -> Any:
    """A new backend for a URL or ``{'connection': URL, ...}`` dict (the caller closes it)."""
    if isinstance(conf, str):
        conf = {"connection": conf}
    if not isinstance(conf, dict) or not isinstance(conf.get("connection"), str):
        raise InvalidOptionError(
            f"a persistence backend is named by a URL or a dict {{'connection': URL}}, "
            f"got {mask_conf(conf)!r}"
        )
    url: str = conf["connection"]
    # 'memory://', or a bare scheme: 'memory' and TaskFlow's 'memory:'.
    scheme = url.split("://", 1)[0] if "://" in url else url.removesuffix(":")
    scheme = scheme.split("+", 1)[0]
    target = _SCHEMES.get(scheme)
    if target is None:
        raise InvalidOptionError(
            f"unknown persistence backend {scheme!r} in {mask_url(url)!r}; known: {sorted(_SCHEMES)}"
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidOptionError(
            f"the {scheme!r} persistence backend cannot be loaded ({exc}); "
            f"install it with: pip install greenflow[sql]"
        ) from exc
    return getattr(module, class_name)(conf)

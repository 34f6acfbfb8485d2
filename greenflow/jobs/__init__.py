"""Jobboards: services post jobs, conductors claim, run and consume them.

``fetch_jobboard(name, conf, persistence=None)`` takes a URL
(``redis://host:6379/0?namespace=app``, or a database URL such as
``postgresql://...``, ``mysql+pymysql://...``, ``sqlite:///jobs.db`` for the SQL
board, ``zookeeper://h1:2181,h2:2181/path`` for ZooKeeper, ``etcd://h:2379/path``) or a TaskFlow-style
dict (``{'board': 'redis', 'host': ..., 'namespace': ...}``, ``{'board': 'sql',
'connection': URL}``, ``{'board': 'zookeeper', 'hosts': ..., 'path': ...}``) and
returns a board; several boards share one Redis namespace, one database or one
ZooKeeper path by name.
Claims are fenced (``Claim.token`` only grows) and expire unless extended;
``FencedBackend`` makes an engine's writes conditional on its job's claim.

Layer: above engines, listeners and workers (a job runs an engine), below
conductors.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from greenflow.exceptions import InvalidOptionError
from greenflow.jobs._base import (
    ABANDONED,
    CLAIMED,
    COMPLETE,
    CONSUMED,
    POSTED,
    TRASHED,
    UNCLAIMED,
    Claim,
    Job,
    JobBoard,
    JobPriority,
    mask_url,
)
from greenflow.jobs._fence import FencedBackend, Lease

__all__ = [
    "ABANDONED",
    "CLAIMED",
    "COMPLETE",
    "CONSUMED",
    "POSTED",
    "TRASHED",
    "UNCLAIMED",
    "Claim",
    "FencedBackend",
    "Job",
    "JobBoard",
    "JobPriority",
    "Lease",
    "fetch_jobboard",
    "jobboard",
    "mask_url",
]

# Board kind (a URL's scheme, or conf['board']) -> "module:class", imported on first use.
_BOARDS: dict[str, str] = {
    "redis": "greenflow.jobs._redis:RedisJobBoard",
    "rediss": "greenflow.jobs._redis:RedisJobBoard",
    "sql": "greenflow.jobs._sql:SqlJobBoard",
    "sqlite": "greenflow.jobs._sql:SqlJobBoard",
    "postgresql": "greenflow.jobs._sql:SqlJobBoard",
    "postgres": "greenflow.jobs._sql:SqlJobBoard",
    "mysql": "greenflow.jobs._sql:SqlJobBoard",
    "mariadb": "greenflow.jobs._sql:SqlJobBoard",
    "zookeeper": "greenflow.jobs._zookeeper:ZooKeeperJobBoard",
    "zk": "greenflow.jobs._zookeeper:ZooKeeperJobBoard",
    "kazoo": "greenflow.jobs._zookeeper:ZooKeeperJobBoard",
    "etcd": "greenflow.jobs._etcd:EtcdJobBoard",
    "etcds": "greenflow.jobs._etcd:EtcdJobBoard",
}


def _split(conf: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(conf, str):
        if "://" not in conf:
            raise InvalidOptionError(f"a jobboard URL looks like redis://host:6379/0, got {mask_url(conf)!r}")
        return conf.split("://", 1)[0].split("+", 1)[0], {"url": conf}
    if isinstance(conf, Mapping):
        conf = dict(conf)
        kind = conf.pop("board", None)
        url = conf.get("url")
        if kind is None and isinstance(url, str) and "://" in url:
            kind = url.split("://", 1)[0]
        if not isinstance(kind, str):
            raise InvalidOptionError(
                f"a jobboard configuration names its kind with 'board' (or a 'url'), got keys {sorted(conf)}"
            )
        return kind, conf
    raise InvalidOptionError(f"a jobboard is named by a URL or a dict {{'board': kind, ...}}, got {conf!r}")


def fetch_jobboard(name: str, conf: Any, persistence: Any = None, **kwargs: Any) -> JobBoard:
    """The board ``conf`` names (a URL or ``{'board': kind, ...}``), not yet connected."""
    kind, options = _split(conf)
    target = _BOARDS.get(kind)
    if target is None:
        raise InvalidOptionError(f"unknown jobboard kind {kind!r}; known: {sorted(_BOARDS)}")
    module_name, _, class_name = target.partition(":")
    board: JobBoard = getattr(importlib.import_module(module_name), class_name)(
        name, options, persistence=persistence, **kwargs
    )
    return board


@contextmanager
def jobboard(name: str, conf: Any, persistence: Any = None, **kwargs: Any) -> Iterator[JobBoard]:
    """``fetch_jobboard``, connected, and closed when the block ends."""
    board = fetch_jobboard(name, conf, persistence=persistence, **kwargs)
    board.connect()
    try:
        yield board
    finally:
        board.close()

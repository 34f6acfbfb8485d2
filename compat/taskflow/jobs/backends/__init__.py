"""``taskflow.jobs.backends``: ``fetch()`` and ``backend()`` over greenflow's jobboards.

A board is named by TaskFlow's dict (``{'board': 'redis', 'host': ..., 'port': ...,
'namespace': ..., 'sentinel': ..., 'ssl': ...}``, as Octavia builds it) or a URL
(``redis://host:6379/0?namespace=...``), or TaskFlow's ZooKeeper conf
(``{'board': 'zookeeper', 'hosts': ..., 'path': ..., 'timeout': ...}``) or etcd conf
(``{'board': 'etcd', 'host': ..., 'port': ..., 'path': ...}``). As in TaskFlow,
``'board'`` may itself be a URL (``{'board': 'zookeeper://localhost?path=/jobs'}``):
its scheme is the kind, and keys of the dict win over the URL's parts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from greenflow.jobs import JobBoard, fetch_jobboard
from taskflow.jobs.base import emit_removals

__all__ = ["BACKEND_NAMESPACE", "backend", "fetch"]

#: TaskFlow's entry-point namespace of jobboards (accepted, unused).
BACKEND_NAMESPACE = "taskflow.jobboards"

#: TaskFlow ZooKeeper board options greenflow's board does without (accepted, unused).
_ZOOKEEPER_IGNORED = ("check_compatible", "emit_notifications")


def fetch(name: str, conf: Any, namespace: str = BACKEND_NAMESPACE, **kwargs: Any) -> JobBoard:
    """The jobboard ``conf`` names (not yet connected); ``persistence=`` loads job logbooks."""
    if isinstance(conf, dict) and isinstance(conf.get("board"), str) and "://" in conf["board"]:
        url = conf["board"]
        conf = {**conf, "board": url.split("://", 1)[0].split("+", 1)[0], "url": url}
    kind = conf.get("board") if isinstance(conf, dict) else str(conf).split(":", 1)[0]
    if kind in ("zookeeper", "zk", "kazoo"):
        from taskflow.jobs.backends.impl_zookeeper import ZookeeperJobBoard

        if isinstance(conf, dict):
            conf = {k: v for k, v in conf.items() if k not in _ZOOKEEPER_IGNORED}
        elif "://" in str(conf):
            conf = {"url": str(conf)}
        else:  # the kind alone ('zookeeper'): the defaults, as TaskFlow takes it
            conf = {}
        return ZookeeperJobBoard(name, conf, **kwargs)
    return emit_removals(fetch_jobboard(name, conf, **kwargs))


@contextlib.contextmanager
def backend(name: str, conf: Any, namespace: str = BACKEND_NAMESPACE, **kwargs: Any) -> Iterator[JobBoard]:
    """Fetch a jobboard, connect it, yield it and close it afterwards."""
    board = fetch(name, conf, namespace=namespace, **kwargs)
    board.connect()
    with contextlib.closing(board):
        yield board

"""``taskflow.jobs.backends.impl_zookeeper``: the ZooKeeper jobboard (greenflow's, kazoo, fenced claims)."""

from __future__ import annotations

from typing import Any

from greenflow.jobs._zookeeper import ZooKeeperJobBoard
from taskflow.jobs.base import emit_removals

__all__ = ["ZooKeeperJobBoard", "ZookeeperJobBoard"]


class ZookeeperJobBoard(ZooKeeperJobBoard):
    """greenflow's ZooKeeper board under TaskFlow's name (what ``backends.fetch`` returns for it)."""

    #: The oldest ZooKeeper server TaskFlow's board works with (``(major, minor, patch)``).
    MIN_ZK_VERSION = (3, 4, 0)

    def __init__(self, name: str, conf: Any, persistence: Any = None, client: Any = None) -> None:
        super().__init__(name, conf, persistence=persistence, client=client)
        emit_removals(self)

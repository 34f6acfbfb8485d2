"""``taskflow.jobs.backends.impl_zookeeper``: the ZooKeeper jobboard (greenflow's, kazoo, fenced claims)."""

from __future__ import annotations

from greenflow.jobs._zookeeper import ZooKeeperJobBoard

#: TaskFlow's spelling.
ZookeeperJobBoard = ZooKeeperJobBoard

__all__ = ["ZooKeeperJobBoard", "ZookeeperJobBoard"]

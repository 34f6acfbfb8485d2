"""``taskflow.jobs.backends.impl_zookeeper``: the ZooKeeper jobboard (greenflow's, kazoo, fenced claims)."""

from __future__ import annotations

from typing import Any

from greenflow.jobs import Job
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

    def _fetch_jobs(
        self, ensure_fresh: bool = False, only_unclaimed: bool = False, limit: int | None = None
    ) -> list[Job]:
        """TaskFlow's name for the board's listing: every read of the board's jobs goes through it.

        ``iterjobs()``, ``wait()`` and a conductor's ``claim_next()`` list the jobs
        here, so a program (or test) that wraps ``_fetch_jobs`` sees every listing
        and its failures. The board is read afresh each time (``ensure_fresh``).
        """
        return super()._scan(only_unclaimed, limit)

    def _scan(self, only_unclaimed: bool, limit: int | None) -> list[Job]:
        return self._fetch_jobs(only_unclaimed=only_unclaimed, limit=limit)

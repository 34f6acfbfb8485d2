"""``taskflow.jobs.backends.impl_redis``: the Redis jobboard (greenflow's, fenced claims)."""

from __future__ import annotations

from greenflow.jobs._redis import RedisJobBoard

__all__ = ["RedisJobBoard"]

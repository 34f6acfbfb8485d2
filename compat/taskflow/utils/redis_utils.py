"""``taskflow.utils.redis_utils``: the server-version check TaskFlow's helpers use."""

from __future__ import annotations

from typing import Any

__all__ = ["is_server_new_enough"]


def is_server_new_enough(
    client: Any, min_version: tuple[int, ...], default: bool = False, prior_version: str | None = None
) -> tuple[bool, str | None]:
    """``(ok, version)``: whether the Redis server is at least ``min_version``."""
    version = prior_version or client.info().get("redis_version")
    if not version:
        return default, version
    parts = tuple(int(p) for p in str(version).split(".") if p.isdigit())
    return parts >= tuple(min_version), version

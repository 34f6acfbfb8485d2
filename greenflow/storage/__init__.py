"""Per-engine runtime storage on top of a flow detail."""

from greenflow.storage._storage import Storage

__all__ = ["Storage"]

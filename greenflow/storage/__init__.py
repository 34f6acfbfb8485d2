"""Per-engine runtime storage on top of a flow detail."""

from greenflow.storage._storage import TRANSITIONS_META, Storage

__all__ = ["TRANSITIONS_META", "Storage"]

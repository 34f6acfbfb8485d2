"""``taskflow.storage``: the engine storage class (greenflow's, with TaskFlow's extra methods)."""

from taskflow.engines.base import Storage

__all__ = ["Storage"]

"""``taskflow.persistence.base``: the backend and connection interfaces (greenflow's protocols)."""

from greenflow.persistence import Backend, Connection

__all__ = ["Backend", "Connection"]

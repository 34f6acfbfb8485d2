"""``taskflow.conductors.base``: ``Conductor``, greenflow's conductor base."""

from __future__ import annotations

from greenflow.conductors import Conductor

__all__ = ["Conductor"]

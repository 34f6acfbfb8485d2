"""``taskflow.engines.action_engine.engine``: the engine classes ``taskflow.engines.load`` returns.

They are TaskFlow's names for one greenflow engine wrapper: ``load(engine='serial')``
returns a :class:`SerialActionEngine`, ``engine='parallel'`` a
:class:`ParallelActionEngine`, both :class:`ActionEngine` (services patch
``ActionEngine.run`` in their tests).
"""

from __future__ import annotations

from taskflow.engines.base import Engine

__all__ = ["ActionEngine", "ParallelActionEngine", "SerialActionEngine"]


class ActionEngine(Engine):
    """A loaded engine (TaskFlow's base class of its serial and parallel engines)."""


class SerialActionEngine(ActionEngine):
    """Runs one atom at a time, in the caller (``engine='serial'``, the default)."""


class ParallelActionEngine(ActionEngine):
    """Runs independent atoms at once on an executor (``engine='parallel'``)."""

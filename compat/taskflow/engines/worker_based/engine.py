"""``taskflow.engines.worker_based.engine``: the class ``load(engine='worker-based')`` returns."""

from __future__ import annotations

from taskflow.engines.action_engine.engine import ActionEngine

__all__ = ["WorkerBasedActionEngine"]


class WorkerBasedActionEngine(ActionEngine):
    """Sends each task to a remote worker (greenflow's ``WorkerExecutor``)."""

    _runs_atoms_here = False  # workers run tasks of their own: progress comes back as messages

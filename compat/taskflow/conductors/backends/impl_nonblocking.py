"""``taskflow.conductors.backends.impl_nonblocking``: jobs on a thread pool (``max_simultaneous_jobs``)."""

from __future__ import annotations

from taskflow.conductors.backends.impl_executor import ExecutorConductor

__all__ = ["NonBlockingConductor"]


class NonBlockingConductor(ExecutorConductor):
    """TaskFlow's nonblocking conductor: ``max_simultaneous_jobs`` threads (-1: CPUs x 5)."""

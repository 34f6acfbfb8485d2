"""``taskflow.conductors.backends.impl_blocking``: one job at a time, in the caller's thread."""

from __future__ import annotations

from typing import Any

from greenflow.conductors import BlockingConductor as _BlockingConductor
from taskflow.conductors.backends.impl_executor import TaskFlowEngines

__all__ = ["BlockingConductor"]


class BlockingConductor(TaskFlowEngines, _BlockingConductor):
    """TaskFlow's blocking conductor: ``max_simultaneous_jobs`` is accepted and must be 1."""

    MAX_SIMULTANEOUS_JOBS = 1

    def __init__(
        self,
        name: str,
        jobboard: Any,
        persistence: Any = None,
        engine: Any = None,
        engine_options: Any = None,
        wait_timeout: float | None = None,
        log: Any = None,
        max_simultaneous_jobs: int = MAX_SIMULTANEOUS_JOBS,
        **kwargs: Any,
    ) -> None:
        if max_simultaneous_jobs != 1:
            raise ValueError(f"a blocking conductor runs one job at a time, got {max_simultaneous_jobs!r}")
        super().__init__(name, jobboard, persistence, engine, engine_options, wait_timeout, log, **kwargs)

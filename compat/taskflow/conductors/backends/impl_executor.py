"""``taskflow.conductors.backends.impl_executor``: the conductor base TaskFlow's kinds share.

The conductors here are greenflow's, loading each job's engine through
``taskflow.engines.load_from_detail`` so ``engine=``/``engine_options=`` take
TaskFlow's forms and ``_listeners_from_job(job, engine)`` gets TaskFlow's
engine wrapper (TaskFlow listeners attach to it as usual).
"""

from __future__ import annotations

from typing import Any

from greenflow.conductors import GreenConductor as _GreenConductor
from greenflow.conductors import NonBlockingConductor as _NonBlockingConductor
from greenflow.persistence import FlowDetail

__all__ = ["ExecutorConductor", "GreenConductor", "TaskFlowEngines"]


class TaskFlowEngines:
    """Loads job engines the way TaskFlow's conductors do (mixed into each conductor kind)."""

    _engine: Any
    _engine_options: dict[str, Any]

    def __init__(
        self,
        name: str,
        jobboard: Any,
        persistence: Any = None,
        engine: Any = None,
        engine_options: Any = None,
        wait_timeout: float | None = None,
        log: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(  # type: ignore[call-arg]
            name, jobboard, persistence, engine, engine_options, wait_timeout=wait_timeout, log=log, **kwargs
        )

    def _load_engine(self, flow_detail: FlowDetail, store: dict[str, Any], backend: Any) -> Any:
        from taskflow import engines

        options = dict(self._engine_options)
        if self._engine is not None:
            options["engine"] = self._engine
        return engines.load_from_detail(flow_detail, store=store or None, backend=backend, **options)


class ExecutorConductor(TaskFlowEngines, _NonBlockingConductor):
    """Dispatches each claimed job to an executor (``executor_factory``, a thread pool by default)."""


class GreenConductor(TaskFlowEngines, _GreenConductor):
    """greenflow's green conductor with TaskFlow's engine loading: ``max_jobs`` jobs on one hub."""

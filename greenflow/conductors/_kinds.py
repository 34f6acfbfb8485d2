"""The three conductor kinds: one job at a time, a thread pool, green threads on one hub."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from greenflow.conductors._base import Conductor
from greenflow.exceptions import InvalidOptionError
from greenflow.executors import GreenExecutor
from greenflow.jobs import Job, JobBoard

__all__ = ["BlockingConductor", "GreenConductor", "NonBlockingConductor"]


class BlockingConductor(Conductor):
    """Runs one job at a time, in the thread that called ``run()``."""

    @property
    def capacity(self) -> int:
        """One job at a time."""
        return 1

    def _submit(self, job: Job) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(self._dispatch_job(job))
        except Exception as exc:
            future.set_exception(exc)
        return future


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidOptionError(f"{name} must be a positive integer, got {value!r}")
    return value


class NonBlockingConductor(Conductor):
    """Runs up to ``max_simultaneous_jobs`` jobs at once, each on a thread of a pool.

    ``max_simultaneous_jobs`` <= 0 (TaskFlow's default, -1) means one thread per CPU times five.
    ``executor_factory`` (TaskFlow's) may return another ``concurrent.futures`` executor.
    """

    MAX_SIMULTANEOUS_JOBS = -1

    def __init__(
        self,
        name: str,
        jobboard: JobBoard,
        persistence: Any = None,
        engine: str | None = None,
        engine_options: Any = None,
        *,
        max_simultaneous_jobs: int = MAX_SIMULTANEOUS_JOBS,
        executor_factory: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, jobboard, persistence, engine, engine_options, **kwargs)
        if isinstance(max_simultaneous_jobs, bool) or not isinstance(max_simultaneous_jobs, int):
            raise InvalidOptionError(
                f"max_simultaneous_jobs must be an integer, got {max_simultaneous_jobs!r}"
            )
        if max_simultaneous_jobs <= 0:
            max_simultaneous_jobs = (os.cpu_count() or 1) * 5
        if executor_factory is not None and not callable(executor_factory):
            raise InvalidOptionError(f"executor_factory must be callable, got {executor_factory!r}")
        self._max_simultaneous_jobs = max_simultaneous_jobs
        self._executor_factory = executor_factory
        self._executor: Any = None

    @property
    def capacity(self) -> int:
        """``max_simultaneous_jobs``."""
        return self._max_simultaneous_jobs

    def _submit(self, job: Job) -> Future[Any]:
        if self._executor is None:
            factory = self._executor_factory
            self._executor = (
                factory()
                if factory is not None
                else ThreadPoolExecutor(
                    self._max_simultaneous_jobs, thread_name_prefix=f"conductor-{self._name}"
                )
            )
        future: Future[Any] = self._executor.submit(self._dispatch_job, job)
        return future

    def _shutdown_executor(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class GreenConductor(Conductor):
    """Runs up to ``max_jobs`` jobs at once, each on a green thread of one hub (gevent or eventlet).

    The program must be patched first (``greenflow.hubs.patch('gevent')``).
    ``gc_threshold`` defaults to ``GC_THRESHOLD`` (100,000): thousands of live
    jobs on one thread make the collector's frequent passes the main cost
    (``0`` leaves the interpreter's thresholds as they are).
    """

    MAX_JOBS = 1000
    GC_THRESHOLD = 100_000

    def __init__(
        self,
        name: str,
        jobboard: JobBoard,
        persistence: Any = None,
        engine: str | None = None,
        engine_options: Any = None,
        *,
        max_jobs: int = MAX_JOBS,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, jobboard, persistence, engine, engine_options, **kwargs)
        self._max_jobs = _positive("max_jobs", max_jobs)
        self._executor = GreenExecutor(max_workers=self._max_jobs, hub=self._hub)

    @property
    def capacity(self) -> int:
        """``max_jobs``."""
        return self._max_jobs

    def _submit(self, job: Job) -> Future[Any]:
        future: Future[Any] = self._executor.submit(self._dispatch_job, job)
        return future

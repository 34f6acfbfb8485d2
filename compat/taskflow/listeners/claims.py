"""``taskflow.listeners.claims``: ``CheckingClaimListener`` suspends an engine whose job lost its claim.

greenflow's conductors already fence every write on the job's claim; this
listener is for programs that run a claimed job's engine themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from greenflow.exceptions import JobError, NotFoundError
from greenflow.jobs import UNCLAIMED
from taskflow.listeners.base import Listener

__all__ = ["CheckingClaimListener"]

_LOG = logging.getLogger(__name__)


class CheckingClaimListener(Listener):
    """On every flow and task transition, checks ``job`` is still claimed by ``owner`` on ``board``.

    When it is not, calls ``on_job_loss(engine, state, details)`` (default:
    suspend the engine).
    """

    def __init__(
        self,
        engine: Any,
        job: Any,
        board: Any,
        owner: str,
        on_job_loss: Callable[[Any, str, Mapping[str, Any]], Any] | None = None,
    ) -> None:
        super().__init__(engine)
        self._job = job
        self._board = board
        self._owner = owner
        if on_job_loss is not None and not callable(on_job_loss):
            raise ValueError("Custom 'on_job_loss' handler must be callable")
        self._on_job_loss = on_job_loss or self._suspend_engine_on_loss
        self._watched = engine

    def _suspend_engine_on_loss(self, engine: Any, state: str, details: Mapping[str, Any]) -> None:
        engine.suspend()

    def _has_been_lost(self) -> bool:
        try:
            job_state = self._job.state
            owner = self._board.find_owner(self._job)
        except (NotFoundError, JobError):
            return True
        return bool(job_state == UNCLAIMED or owner != self._owner)

    def _claim_checker(self, state: str, details: Mapping[str, Any]) -> None:
        if self._has_been_lost():
            _LOG.warning("Job '%s' has lost its claim (previously owned by '%s')", self._job, self._owner)
            self._on_job_loss(self._watched, state, details)

    def _flow_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._claim_checker(state, details)

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._claim_checker(state, details)

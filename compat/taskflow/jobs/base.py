"""``taskflow.jobs.base``: TaskFlow's job and jobboard names, greenflow's classes.

``Job``, ``JobBoard`` and ``JobPriority`` are greenflow's; claims are fenced
(``claim()`` returns the ``Claim`` with its token, which TaskFlow ignores).
``NotifyingJobBoard`` is ``JobBoard``: every greenflow board has a ``notifier``.
Boards from ``taskflow.jobs.backends`` also emit TaskFlow's ``REMOVAL`` event
(details ``{'job': job}``) when they consume or trash a job; TaskFlow's boards
emit it for any removal they see, whoever made it.
"""

from __future__ import annotations

from typing import Any

from greenflow.jobs import CONSUMED, POSTED, TRASHED, Job, JobBoard, JobPriority

__all__ = ["POSTED", "REMOVAL", "Job", "JobBoard", "JobPriority", "NotifyingJobBoard", "emit_removals"]

NotifyingJobBoard = JobBoard

#: TaskFlow's board event for a job that left the board (consumed or trashed).
REMOVAL = "REMOVAL"


def emit_removals(board: JobBoard) -> JobBoard:
    """Make ``board`` notify ``REMOVAL`` after each job it consumes or trashes; returns it."""

    def removed(event: str, details: Any) -> None:
        board.notifier.notify(REMOVAL, {"job": details["job"]})

    board.notifier.register(CONSUMED, removed)
    board.notifier.register(TRASHED, removed)
    return board

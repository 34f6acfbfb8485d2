"""``taskflow.jobs.base``: TaskFlow's job and jobboard names, greenflow's classes.

``Job``, ``JobBoard`` and ``JobPriority`` are greenflow's; claims are fenced
(``claim()`` returns the ``Claim`` with its token, which TaskFlow ignores).
``NotifyingJobBoard`` is ``JobBoard``: every greenflow board has a ``notifier``.
"""

from __future__ import annotations

from greenflow.jobs import Job, JobBoard, JobPriority

__all__ = ["Job", "JobBoard", "JobPriority", "NotifyingJobBoard"]

NotifyingJobBoard = JobBoard

"""Conductors: claim jobs from a jobboard, run each in an engine, finish them exactly once.

``fetch_conductor(kind, name, jobboard, **options)`` with kind ``blocking``
(one job at a time), ``nonblocking`` (a thread pool, ``max_simultaneous_jobs``)
or ``green`` (thousands of jobs on one gevent/eventlet hub, ``max_jobs``).

Layer: the top of the engine stack, below the CLI; builds on ``greenflow.jobs``.
"""

from __future__ import annotations

from typing import Any

from greenflow.conductors._base import Conductor, ConductorEntity
from greenflow.conductors._kinds import BlockingConductor, GreenConductor, NonBlockingConductor
from greenflow.exceptions import InvalidOptionError
from greenflow.jobs import JobBoard

__all__ = [
    "CONDUCTOR_KINDS",
    "BlockingConductor",
    "Conductor",
    "ConductorEntity",
    "GreenConductor",
    "NonBlockingConductor",
    "fetch_conductor",
]

CONDUCTOR_KINDS: dict[str, type[Conductor]] = {
    "blocking": BlockingConductor,
    "nonblocking": NonBlockingConductor,
    "green": GreenConductor,
}


def fetch_conductor(kind: str, name: str, jobboard: JobBoard, **options: Any) -> Conductor:
    """A conductor of ``kind`` (``blocking``, ``nonblocking``, ``green``) for ``jobboard``."""
    try:
        cls = CONDUCTOR_KINDS[kind]
    except (KeyError, TypeError):
        raise InvalidOptionError(
            f"unknown conductor kind {kind!r}; known: {sorted(CONDUCTOR_KINDS)}"
        ) from None
    return cls(name, jobboard, **options)

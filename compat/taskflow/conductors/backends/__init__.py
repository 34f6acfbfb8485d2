"""``taskflow.conductors.backends``: ``fetch(kind, name, jobboard, **kwargs)``.

Kinds: ``blocking``, ``nonblocking`` (TaskFlow's) and ``green`` (greenflow's
green conductor: ``max_jobs`` jobs on one gevent/eventlet hub).
"""

from __future__ import annotations

from typing import Any

from taskflow.exceptions import NotFound

__all__ = ["CONDUCTOR_NAMESPACE", "fetch"]

#: TaskFlow's entry-point namespace of conductors (accepted, unused).
CONDUCTOR_NAMESPACE = "taskflow.conductors"


def fetch(kind: str, name: str, jobboard: Any, namespace: str = CONDUCTOR_NAMESPACE, **kwargs: Any) -> Any:
    """A conductor of ``kind`` for ``jobboard``; ``NotFound`` for an unknown kind."""
    from taskflow.conductors.backends import impl_blocking, impl_executor, impl_nonblocking

    kinds: dict[str, Any] = {
        "blocking": impl_blocking.BlockingConductor,
        "nonblocking": impl_nonblocking.NonBlockingConductor,
        "green": impl_executor.GreenConductor,
    }
    try:
        cls = kinds[kind]
    except KeyError:
        raise NotFound(f"Could not find conductor {kind!r}; known: {sorted(kinds)}") from None
    return cls(name, jobboard, **kwargs)

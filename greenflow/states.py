"""Flow and atom states, intentions, and the transitions allowed between them.

The state names are persisted strings and match TaskFlow's, so logbooks and
listeners keep the vocabulary users already know.
"""

from __future__ import annotations

from typing import Final

from greenflow.exceptions import EngineStateError

__all__ = [
    "EXECUTE",
    "FAILURE",
    "IGNORE",
    "PENDING",
    "RESUMING",
    "RETRY",
    "RETRYING",
    "REVERT",
    "REVERTED",
    "REVERTING",
    "REVERT_FAILURE",
    "RUNNING",
    "SUCCESS",
    "SUSPENDED",
    "SUSPENDING",
    "check_atom_transition",
    "check_flow_transition",
]

# States shared by flows and atoms.
PENDING: Final = "PENDING"
RUNNING: Final = "RUNNING"
SUCCESS: Final = "SUCCESS"
FAILURE: Final = "FAILURE"
REVERTING: Final = "REVERTING"
REVERTED: Final = "REVERTED"
# Flow-only states.
SUSPENDING: Final = "SUSPENDING"
SUSPENDED: Final = "SUSPENDED"
RESUMING: Final = "RESUMING"
# Atom-only states.
REVERT_FAILURE: Final = "REVERT_FAILURE"
RETRYING: Final = "RETRYING"
IGNORE: Final = "IGNORE"

# Intentions: what the engine means to do with an atom next.
EXECUTE: Final = "EXECUTE"
REVERT: Final = "REVERT"
RETRY: Final = "RETRY"

_FLOW_TRANSITIONS: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        (PENDING, RUNNING),
        (RUNNING, SUCCESS),
        (RUNNING, FAILURE),
        (RUNNING, REVERTING),
        (RUNNING, REVERTED),
        (RUNNING, SUSPENDING),
        (RUNNING, SUSPENDED),
        (REVERTING, REVERTED),
        (REVERTING, FAILURE),
        (REVERTING, SUSPENDING),
        (REVERTING, SUSPENDED),
        (SUSPENDING, SUSPENDED),
        (SUSPENDING, SUCCESS),
        (SUSPENDING, REVERTED),
        (SUSPENDING, FAILURE),
        (SUSPENDED, RESUMING),
        (SUSPENDED, RUNNING),
        (RESUMING, RUNNING),
        (RESUMING, SUSPENDED),
        # A finished flow may be run again after reset(); a failed one may resume.
        (SUCCESS, RUNNING),
        (REVERTED, RUNNING),
        (FAILURE, RUNNING),
        (REVERTED, PENDING),
        (FAILURE, PENDING),
        (SUCCESS, PENDING),
        (SUSPENDED, PENDING),
    }
)

_ATOM_TRANSITIONS: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        (PENDING, RUNNING),
        (PENDING, IGNORE),
        (PENDING, REVERTED),
        (RUNNING, SUCCESS),
        (RUNNING, FAILURE),
        (SUCCESS, REVERTING),
        (SUCCESS, RETRYING),
        (SUCCESS, PENDING),
        (SUCCESS, IGNORE),
        (FAILURE, REVERTING),
        (REVERTING, REVERTED),
        (REVERTING, REVERT_FAILURE),
        (REVERTED, PENDING),
        (REVERTED, IGNORE),
        (RETRYING, RUNNING),
        (IGNORE, PENDING),
        (REVERT_FAILURE, REVERTING),
        (REVERT_FAILURE, PENDING),
        # A crash while running or reverting is resolved on resumption.
        (RUNNING, PENDING),
        (REVERTING, PENDING),
        (FAILURE, PENDING),
        (RETRYING, PENDING),
    }
)


def check_flow_transition(flow_name: str, old: str, new: str) -> bool:
    """Return ``False`` for a no-op transition, ``True`` for an allowed one; raise otherwise."""
    if old == new:
        return False
    if (old, new) not in _FLOW_TRANSITIONS:
        raise EngineStateError(f"flow {flow_name!r} cannot go from state {old} to {new}")
    return True


def check_atom_transition(atom_name: str, old: str, new: str) -> bool:
    """Return ``False`` for a no-op transition, ``True`` for an allowed one; raise otherwise."""
    if old == new:
        return False
    if (old, new) not in _ATOM_TRANSITIONS:
        raise EngineStateError(f"atom {atom_name!r} cannot go from state {old} to {new}")
    return True

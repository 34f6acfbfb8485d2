"""``taskflow.states``: every state and intention name TaskFlow programs use.

The flow and atom names are greenflow's own (they are persisted strings and
already match). Job states and the engine's internal states are defined here
so programs that compare against them import cleanly; greenflow's engine never
reports the internal ones (``run_iter()`` yields RUNNING, WAITING and the end state).
"""

from greenflow.exceptions import EngineStateError
from greenflow.states import (
    EXECUTE,
    FAILURE,
    IGNORE,
    PENDING,
    RESUMING,
    RETRY,
    RETRYING,
    REVERT,
    REVERT_FAILURE,
    REVERTED,
    REVERTING,
    RUNNING,
    SUCCESS,
    SUSPENDED,
    SUSPENDING,
    check_atom_transition,
)
from greenflow.states import check_flow_transition as _check_flow_transition

# Job states (the states of greenflow's jobs, under TaskFlow's names).
CLAIMED = "CLAIMED"
COMPLETE = "COMPLETE"
UNCLAIMED = "UNCLAIMED"

# Engine-internal states.
SCHEDULING = "SCHEDULING"
WAITING = "WAITING"
ANALYZING = "ANALYZING"
UNDEFINED = "UNDEFINED"
GAME_OVER = "GAME_OVER"

INTENTIONS = (EXECUTE, IGNORE, REVERT, RETRY)


def check_flow_transition(old_state: str, new_state: str) -> bool:
    """True to proceed, False for a transition to ignore; raises ``InvalidState`` if not allowed."""
    return _check_flow_transition("flow", old_state, new_state)


def check_task_transition(old_state: str, new_state: str) -> bool:
    """Whether an atom may go from ``old_state`` to ``new_state`` (False for a no-op)."""
    try:
        return check_atom_transition("task", old_state, new_state)
    except EngineStateError:
        return False


check_retry_transition = check_task_transition

__all__ = [
    "ANALYZING",
    "CLAIMED",
    "COMPLETE",
    "EXECUTE",
    "FAILURE",
    "GAME_OVER",
    "IGNORE",
    "INTENTIONS",
    "PENDING",
    "RESUMING",
    "RETRY",
    "RETRYING",
    "REVERT",
    "REVERTED",
    "REVERTING",
    "REVERT_FAILURE",
    "RUNNING",
    "SCHEDULING",
    "SUCCESS",
    "SUSPENDED",
    "SUSPENDING",
    "UNCLAIMED",
    "UNDEFINED",
    "WAITING",
    "check_flow_transition",
    "check_retry_transition",
    "check_task_transition",
]

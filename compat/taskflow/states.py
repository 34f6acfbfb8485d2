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
)

# Job states: the strings of greenflow.jobs' states (not imported: that pulls in the jobboards).
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


# TaskFlow's state machines, as its ``check_*_transition()`` functions (public API, used by
# programs that validate a stored state change) decide them. greenflow's engine checks its own,
# wider tables (``greenflow.states``: resumption after a crash, re-running a finished flow);
# these are TaskFlow's documented ones, so a TaskFlow program gets TaskFlow's answers.
_ALLOWED_JOB_TRANSITIONS = frozenset(
    {
        (UNCLAIMED, CLAIMED),  # claimed
        (CLAIMED, UNCLAIMED),  # claim lost or abandoned
        (CLAIMED, COMPLETE),  # consumed
    }
)

_ALLOWED_FLOW_TRANSITIONS = frozenset(
    {
        (PENDING, RUNNING),
        (RUNNING, SUCCESS),
        (RUNNING, FAILURE),
        (RUNNING, REVERTED),
        (RUNNING, SUSPENDING),
        (RUNNING, RESUMING),
        (SUCCESS, RUNNING),  # the flow changed after it finished: run it through again
        (FAILURE, RUNNING),
        (REVERTED, PENDING),
        (SUCCESS, PENDING),
        (SUSPENDING, SUSPENDED),
        (SUSPENDING, SUCCESS),  # everything finished while suspending
        (SUSPENDING, FAILURE),
        (SUSPENDING, REVERTED),
        (SUSPENDING, RESUMING),
        (SUSPENDED, RUNNING),
        (RESUMING, SUSPENDED),
    }
)

#: Suspending or resuming a flow that is not running: nothing to do, not an error.
_IGNORED_FLOW_TRANSITIONS = frozenset(
    (old, new)
    for old in (PENDING, FAILURE, SUCCESS, SUSPENDED, REVERTED)
    for new in (SUSPENDING, SUSPENDED, RESUMING)
    if old != new
)

_ALLOWED_TASK_TRANSITIONS = frozenset(
    {
        (PENDING, RUNNING),
        (PENDING, IGNORE),
        (RUNNING, SUCCESS),
        (RUNNING, FAILURE),
        (FAILURE, REVERTING),
        (SUCCESS, REVERTING),
        (REVERTING, REVERTED),
        (REVERTING, REVERT_FAILURE),
        (REVERTED, PENDING),
        (IGNORE, PENDING),
    }
)

#: A retry controller also goes back to running after it decided to retry its subflow.
_ALLOWED_RETRY_TRANSITIONS = _ALLOWED_TASK_TRANSITIONS | {(SUCCESS, RETRYING), (RETRYING, RUNNING)}


def _check(kind: str, allowed: frozenset[tuple[str, str]], old_state: str, new_state: str) -> bool:
    if old_state == new_state:
        return False
    if (old_state, new_state) in allowed:
        return True
    raise EngineStateError(f"{kind} transition from {old_state!r} to {new_state!r} is not allowed")


def check_job_transition(old_state: str, new_state: str) -> bool:
    """True to proceed, False for a no-op (same state); raises ``InvalidState`` if not allowed."""
    return _check("job", _ALLOWED_JOB_TRANSITIONS, old_state, new_state)


def check_flow_transition(old_state: str, new_state: str) -> bool:
    """True to proceed, False for a transition to ignore; raises ``InvalidState`` if not allowed."""
    if (old_state, new_state) in _IGNORED_FLOW_TRANSITIONS:
        return False
    return _check("flow", _ALLOWED_FLOW_TRANSITIONS, old_state, new_state)


def check_task_transition(old_state: str, new_state: str) -> bool:
    """Whether a task may go from ``old_state`` to ``new_state`` (False otherwise: never raises)."""
    return (old_state, new_state) in _ALLOWED_TASK_TRANSITIONS


def check_retry_transition(old_state: str, new_state: str) -> bool:
    """Whether a retry controller may go from ``old_state`` to ``new_state`` (never raises)."""
    return (old_state, new_state) in _ALLOWED_RETRY_TRANSITIONS


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
    "check_job_transition",
    "check_retry_transition",
    "check_task_transition",
]

"""``taskflow.retry``: retry controllers and their decisions (greenflow's classes)."""

from greenflow.atoms import (
    AlwaysRevert,
    AlwaysRevertAll,
    Decision,
    ForEach,
    History,
    ParameterizedForEach,
    Retry,
    Times,
)

# The module-level spellings of the decisions.
RETRY = Decision.RETRY
REVERT = Decision.REVERT
REVERT_ALL = Decision.REVERT_ALL

#: The argument ``execute``/``revert``/``on_failure`` receive the history under.
EXECUTE_REVERT_HISTORY = "history"
#: The argument ``revert`` receives ``{atom name: Failure}`` under.
REVERT_FLOW_FAILURES = "flow_failures"

__all__ = [
    "EXECUTE_REVERT_HISTORY",
    "RETRY",
    "REVERT",
    "REVERT_ALL",
    "REVERT_FLOW_FAILURES",
    "AlwaysRevert",
    "AlwaysRevertAll",
    "Decision",
    "ForEach",
    "History",
    "ParameterizedForEach",
    "Retry",
    "Times",
]

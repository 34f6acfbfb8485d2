"""``taskflow.retry``: retry controllers and their decisions (greenflow's classes).

``Times``, ``ForEach`` and ``ParameterizedForEach`` are greenflow's, with TaskFlow's
``_revert_action``: what ``on_failure`` gives up with (``REVERT``, or ``REVERT_ALL``
with ``revert_all=True``), which subclasses return (Octavia's retry controllers do).
"""

from __future__ import annotations

from greenflow import atoms as _atoms
from greenflow.atoms import AlwaysRevert, AlwaysRevertAll, Decision, History, Retry


class _RevertAction:
    """TaskFlow's name for what a bounded controller gives up with."""

    _give_up: Decision

    @property
    def _revert_action(self) -> Decision:
        return self._give_up


class Times(_RevertAction, _atoms.Times):
    """greenflow's ``Times`` (see its docstring), with TaskFlow's ``_revert_action``."""


class ForEach(_RevertAction, _atoms.ForEach):
    """greenflow's ``ForEach`` (see its docstring), with TaskFlow's ``_revert_action``."""


class ParameterizedForEach(_RevertAction, _atoms.ParameterizedForEach):
    """greenflow's ``ParameterizedForEach`` (see its docstring), with TaskFlow's ``_revert_action``."""


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

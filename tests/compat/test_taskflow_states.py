"""``taskflow.states``: its transition checks answer as TaskFlow's do (run on compat's taskflow)."""

from __future__ import annotations

import pytest


def test_flow_transitions_follow_taskflows_table_not_the_engines_wider_one() -> None:
    from taskflow import exceptions, states

    assert states.check_flow_transition(states.PENDING, states.RUNNING) is True
    assert states.check_flow_transition(states.RUNNING, states.RUNNING) is False
    # Suspending a flow that is not running is a no-op, not an error.
    assert states.check_flow_transition(states.SUCCESS, states.SUSPENDING) is False
    # greenflow's engine allows these (resumption, re-running); TaskFlow's table does not.
    for old, new in [(states.RUNNING, states.PENDING), (states.REVERTED, states.RUNNING)]:
        with pytest.raises(exceptions.InvalidState, match=f"flow transition from '{old}' to '{new}'"):
            states.check_flow_transition(old, new)


def test_job_transitions_raise_invalid_state_when_not_allowed() -> None:
    from taskflow import exceptions, states

    assert states.check_job_transition(states.UNCLAIMED, states.CLAIMED) is True
    assert states.check_job_transition(states.CLAIMED, states.CLAIMED) is False
    with pytest.raises(exceptions.InvalidState, match="job transition from 'UNCLAIMED' to 'COMPLETE'"):
        states.check_job_transition(states.UNCLAIMED, states.COMPLETE)


def test_task_and_retry_transitions_answer_false_rather_than_raise() -> None:
    from taskflow import states

    assert states.check_task_transition(states.PENDING, states.RUNNING) is True
    assert states.check_task_transition(states.RUNNING, states.PENDING) is False
    assert states.check_task_transition(states.SUCCESS, states.RETRYING) is False
    assert states.check_retry_transition(states.SUCCESS, states.RETRYING) is True
    assert states.check_retry_transition(states.RETRYING, states.PENDING) is False

"""States: the persisted names and the transitions flows and atoms may make."""

from __future__ import annotations

import pytest

from greenflow import states
from greenflow.exceptions import EngineStateError


def test_state_names_are_taskflow_strings():
    for name in (
        "PENDING", "RUNNING", "SUCCESS", "FAILURE", "REVERTING", "REVERTED", "SUSPENDING",
        "SUSPENDED", "RESUMING", "REVERT_FAILURE", "RETRYING", "IGNORE", "EXECUTE", "REVERT", "RETRY",
    ):  # fmt: skip
        assert getattr(states, name) == name


@pytest.mark.parametrize("check", [states.check_flow_transition, states.check_atom_transition])
def test_staying_in_a_state_is_a_no_op(check):
    assert check("x", states.RUNNING, states.RUNNING) is False


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (states.PENDING, states.RUNNING),
        (states.RUNNING, states.SUCCESS),
        (states.RUNNING, states.REVERTING),
        (states.REVERTING, states.REVERTED),
        (states.REVERTING, states.FAILURE),
        (states.RUNNING, states.SUSPENDING),
        (states.SUSPENDING, states.SUSPENDED),
        (states.SUSPENDED, states.RUNNING),
        (states.SUCCESS, states.PENDING),  # reset
        (states.REVERTED, states.RUNNING),  # run again
    ],
)
def test_allowed_flow_transitions(old, new):
    assert states.check_flow_transition("f", old, new) is True


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (states.PENDING, states.SUCCESS),
        (states.PENDING, states.REVERTED),
        (states.SUCCESS, states.REVERTING),
        (states.SUSPENDED, states.SUCCESS),
        (states.RUNNING, states.PENDING),
    ],
)
def test_forbidden_flow_transitions_name_the_flow_and_both_states(old, new):
    with pytest.raises(EngineStateError) as info:
        states.check_flow_transition("create_vm", old, new)
    assert str(info.value) == f"flow 'create_vm' cannot go from state {old} to {new}"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (states.PENDING, states.RUNNING),
        (states.PENDING, states.IGNORE),
        (states.RUNNING, states.SUCCESS),
        (states.RUNNING, states.FAILURE),
        (states.SUCCESS, states.REVERTING),
        (states.FAILURE, states.REVERTING),
        (states.REVERTING, states.REVERTED),
        (states.REVERTING, states.REVERT_FAILURE),
        (states.SUCCESS, states.RETRYING),
        (states.RETRYING, states.RUNNING),
        (states.REVERTED, states.PENDING),
        (states.RUNNING, states.PENDING),  # a crash mid-run is resolved on resumption
    ],
)
def test_allowed_atom_transitions(old, new):
    assert states.check_atom_transition("a", old, new) is True


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (states.PENDING, states.SUCCESS),
        (states.PENDING, states.FAILURE),
        (states.SUCCESS, states.RUNNING),
        (states.REVERTED, states.SUCCESS),
        (states.FAILURE, states.SUCCESS),
        (states.IGNORE, states.RUNNING),
        (states.PENDING, states.SUSPENDED),
    ],
)
def test_forbidden_atom_transitions_name_the_atom_and_both_states(old, new):
    with pytest.raises(EngineStateError) as info:
        states.check_atom_transition("boot", old, new)
    assert str(info.value) == f"atom 'boot' cannot go from state {old} to {new}"


def test_unknown_state_is_a_forbidden_transition():
    with pytest.raises(EngineStateError, match="cannot go from state PENDING to DONE"):
        states.check_atom_transition("boot", states.PENDING, "DONE")

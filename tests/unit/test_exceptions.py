"""greenflow's errors: a cause given to an error, and how the error shows its chain of causes."""

from __future__ import annotations

import pickle

import pytest

from greenflow.exceptions import GreenflowError, NotFoundError, StorageError


def test_an_error_given_a_cause_keeps_it_and_says_why_in_its_str() -> None:
    low = OSError("disk gone")
    mid = StorageError("cannot save flow 'f'", cause=low)
    top = GreenflowError("run failed", cause=mid)
    assert top.cause is mid and mid.cause is low
    assert top.__cause__ is mid  # tracebacks show it too
    assert str(top) == "run failed\n  StorageError: cannot save flow 'f'\n    OSError: disk gone"
    assert top.pformat(indent=1, indent_text="-", show_root_class=True).splitlines() == [
        "GreenflowError: run failed",
        "-StorageError: cannot save flow 'f'",
        "--OSError: disk gone",
    ]


def test_an_error_without_a_cause_keeps_its_plain_message() -> None:
    try:
        try:
            raise OSError("low")
        except OSError as exc:
            raise StorageError("cannot save") from exc
    except StorageError as err:
        assert str(err) == "cannot save"  # raise ... from: only an explicit cause= changes str()
        assert isinstance(err.cause, OSError)
        assert err.pformat() == "cannot save\n  OSError: low"
    assert str(NotFoundError("no atom 'a'")) == "no atom 'a'"


def test_a_chain_of_causes_that_loops_is_shown_once() -> None:
    first = GreenflowError("a")
    second = GreenflowError("b", cause=first)
    first._cause = second
    assert second.pformat() == "b\n  GreenflowError: a"


def test_pformat_refuses_a_negative_indent() -> None:
    with pytest.raises(ValueError, match="indent must be 0 or more, not -1"):
        GreenflowError("x").pformat(indent=-1)


def test_an_error_with_a_cause_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(StorageError("cannot save", cause=ValueError("bad"))))
    assert isinstance(err.cause, ValueError) and str(err) == "cannot save\n  ValueError: bad"

"""``taskflow.exceptions``: TaskFlow's ``cause=``, ``pformat()`` and ``raise_with_cause()``."""

from __future__ import annotations

import pytest


def test_raise_with_cause_chains_the_exception_being_handled() -> None:
    from taskflow import exceptions

    with pytest.raises(exceptions.TaskFlowException) as info:
        try:
            raise OSError("Didn't work")
        except OSError:
            exceptions.raise_with_cause(exceptions.StorageFailure, "I Failed")
    err = info.value
    assert isinstance(err.cause, OSError) and err.__cause__ is err.cause
    assert str(err) == "I Failed\n  OSError: Didn't work"


def test_raise_with_cause_needs_a_taskflow_exception_class() -> None:
    from taskflow import exceptions

    with pytest.raises(ValueError, match="needs a TaskFlowException subclass"):
        exceptions.raise_with_cause(RuntimeError, "nope")


def test_a_greenflow_class_with_its_own_constructor_still_gets_the_cause() -> None:
    from taskflow import exceptions

    with pytest.raises(exceptions.MissingDependencies) as info:
        try:
            raise KeyError("x")
        except KeyError:
            exceptions.raise_with_cause(
                exceptions.MissingDependencies, "needs x", flow="f", atom="a", missing=frozenset({"x"})
            )
    assert isinstance(info.value.cause, KeyError)


def test_the_root_class_takes_a_cause_and_pformats_it() -> None:
    from taskflow import exceptions

    err = exceptions.TaskFlowException("broken", cause=OSError("dead"))
    assert isinstance(err.cause, OSError)
    assert err.pformat() == "broken\n  OSError: dead"

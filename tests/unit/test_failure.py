"""``Failure``: capture, dict round trip, causes, check, reraise, formatting."""

from __future__ import annotations

import json
import pickle

import pytest

from greenflow.exceptions import GreenflowError, InvalidFormatError, InvalidOptionError, WrappedFailure
from greenflow.failure import FAILURE_FORMAT_VERSION, Failure, RemoteFailureError


class QuotaError(ValueError):
    pass


class NeedsTwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")


def _raise_chained():
    try:
        raise KeyError("flavor")
    except KeyError as exc:
        raise QuotaError("no quota for m1.large") from exc


def _capture(func) -> Failure:
    try:
        func()
    except Exception:
        return Failure()
    raise AssertionError("did not raise")


# -- capture -------------------------------------------------------------------------------------------


def test_failure_inside_except_captures_the_current_exception():
    failure = _capture(_raise_chained)
    assert isinstance(failure.exception, QuotaError)
    assert failure.exception_str == "no quota for m1.large"
    assert failure.exc_type_names == (f"{__name__}.QuotaError", "ValueError", "Exception")
    assert "_raise_chained" in failure.traceback_str
    assert failure.exc_info is not None and failure.exc_info[1] is failure.exception


def test_failure_outside_except_needs_an_exception():
    with pytest.raises(InvalidOptionError, match=r"Failure\(\) needs an exception.*from_exception"):
        Failure()


def test_failure_inside_except_refuses_what_is_not_an_exception():
    try:
        raise SystemExit(3)
    except BaseException:
        with pytest.raises(InvalidOptionError, match="the current exception is SystemExit"):
            Failure()
    assert Failure.from_exception(SystemExit(3)).exc_type_names == ("SystemExit", "BaseException")


def test_from_exception_captures_an_exception_object():
    exc = ValueError("bad")
    failure = Failure.from_exception(exc)
    assert failure.exception is exc
    assert failure.exception_str == "bad"
    assert failure.traceback_str == ""


def test_from_exception_keeps_the_traceback_of_a_raised_exception():
    try:
        _raise_chained()
    except QuotaError as exc:
        failure = Failure.from_exception(exc)
    assert "_raise_chained" in failure.traceback_str


# -- causes -----------------------------------------------------------------------------------------


def test_explicit_cause_is_captured():
    failure = _capture(_raise_chained)
    assert failure.cause is not None
    assert failure.cause.exc_type_names[0] == "KeyError"
    assert failure.cause.exception_str == "'flavor'"
    assert failure.cause.cause is None


def test_implicit_context_is_captured_as_the_cause():
    def implicit():
        try:
            raise KeyError("first")
        except KeyError:
            raise ValueError("second")

    assert _capture(implicit).cause.exception_str == "'first'"


def test_suppressed_context_is_not_a_cause():
    def suppressed():
        try:
            raise KeyError("first")
        except KeyError:
            raise ValueError("second") from None

    assert _capture(suppressed).cause is None


# -- dict form --------------------------------------------------------------------------------------


def test_to_dict_is_json_safe_and_versioned():
    data = _capture(_raise_chained).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["version"] == FAILURE_FORMAT_VERSION
    assert data["exception_str"] == "no quota for m1.large"
    assert data["exc_type_names"][0] == f"{__name__}.QuotaError"
    assert [c["exc_type_names"][0] for c in data["causes"]] == ["KeyError"]


def test_dict_round_trip_through_json_keeps_everything_but_the_live_exception():
    original = _capture(_raise_chained)
    rebuilt = Failure.from_dict(json.loads(json.dumps(original.to_dict())))
    assert rebuilt == original
    assert rebuilt.exception is None
    assert rebuilt.exc_info is None
    assert rebuilt.exception_str == original.exception_str
    assert rebuilt.traceback_str == original.traceback_str
    assert rebuilt.exc_type_names == original.exc_type_names
    assert rebuilt.cause is not None and rebuilt.cause.matches(original.cause)
    assert rebuilt.to_dict() == original.to_dict()


def test_long_cause_chains_round_trip_in_order():
    def chain():
        try:
            try:
                raise OSError("disk")
            except OSError as exc:
                raise KeyError("volume") from exc
        except KeyError as exc:
            raise RuntimeError("boot") from exc

    rebuilt = Failure.from_dict(json.loads(json.dumps(_capture(chain).to_dict())))
    found = []
    cause = rebuilt
    while cause is not None:
        found.append(cause.exc_type_names[0])
        cause = cause.cause
    assert found == ["RuntimeError", "KeyError", "OSError"]


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"exception_str": "x"},
        {"exception_str": "x", "exc_type_names": ["E"], "causes": [{}]},
        5,
        None,
    ],
)
def test_from_dict_rejects_a_malformed_dict_showing_it(bad):
    with pytest.raises(InvalidOptionError) as info:
        Failure.from_dict(bad)
    assert "not a failure dict" in str(info.value)
    assert repr(bad) in str(info.value)


def test_from_dict_rejects_another_format_version():
    data = Failure.from_exception(ValueError("x")).to_dict()
    data["version"] = FAILURE_FORMAT_VERSION + 1
    with pytest.raises(InvalidOptionError, match=f"format version {FAILURE_FORMAT_VERSION + 1}"):
        Failure.from_dict(data)


def test_from_dict_says_the_dict_is_malformed_with_an_invalid_format_error():
    with pytest.raises(InvalidFormatError, match="not a failure dict"):
        Failure.from_dict({"exception_str": "x"})


def test_validate_accepts_what_to_dict_writes_causes_included():
    data = _capture(_raise_chained).to_dict()
    Failure.validate(data)
    Failure.validate(json.loads(json.dumps(data)))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"exc_type_names": []}, "'exc_type_names' must be a non-empty list of strings"),
        ({"exc_type_names": ["Junk"]}, "must end with one of Exception, BaseException .*not 'Junk'"),
        ({"traceback_str": None}, "'traceback_str' must be a string"),
        ({"version": -1}, "format version -1, expected 1"),
        ({"exc_args": "a"}, "'exc_args' must be a list"),
        ({"causes": [{"exception_str": "x", "traceback_str": "", "exc_type_names": ["E"]}]},
         "failure dict, cause 0: 'exc_type_names' must end with"),
    ],
)  # fmt: skip
def test_validate_refuses_a_dict_from_dict_would_misread_saying_what_is_wrong(change, complaint):
    data = {**Failure.from_exception(ValueError("v")).to_dict(), **change}
    with pytest.raises(InvalidFormatError, match=complaint):
        Failure.validate(data)


def test_validate_refuses_a_missing_required_key_which_from_dict_tolerates():
    data = Failure.from_exception(ValueError("v")).to_dict()
    del data["traceback_str"]
    assert Failure.from_dict(data).traceback_str == ""
    with pytest.raises(InvalidFormatError, match="'traceback_str' must be a string, got None"):
        Failure.validate(data)


def test_an_unknown_keyword_is_refused_naming_it():
    expected = r"^Failure.__init__ got unexpected keyword argument\(s\): hi$"
    with pytest.raises(InvalidOptionError, match=expected):
        Failure(exception_str="x", exc_type_names=["Exception"], hi="there")  # type: ignore[call-arg]


# -- pickling (process executors send failures between processes) ------------------------------------


def test_failure_with_a_traceback_survives_pickling():
    original = _capture(_raise_chained)
    copy = pickle.loads(pickle.dumps(original))
    assert copy == original
    assert copy.cause is not None and copy.cause.matches(original.cause)
    assert isinstance(copy.exception, QuotaError)
    with pytest.raises(QuotaError, match="no quota"):
        copy.reraise()


def test_failure_of_an_exception_that_does_not_unpickle_still_pickles():
    original = Failure.from_exception(NeedsTwoArgs("a", "b"))
    copy = pickle.loads(pickle.dumps(original))
    assert copy == original
    assert copy.exception is None
    with pytest.raises(RemoteFailureError):
        copy.reraise()


def test_rebuilt_failure_survives_pickling():
    rebuilt = Failure.from_dict(Failure.from_exception(ValueError("x")).to_dict())
    assert pickle.loads(pickle.dumps(rebuilt)) == rebuilt


# -- check ------------------------------------------------------------------------------------------


def test_check_matches_by_type_including_base_classes():
    failure = _capture(_raise_chained)
    assert failure.check(QuotaError) is QuotaError
    assert failure.check(KeyError, ValueError) is ValueError
    assert failure.check(KeyError, TypeError) is None


def test_check_matches_by_qualified_name():
    failure = _capture(_raise_chained)
    assert failure.check("ValueError") == "ValueError"
    assert failure.check(f"{__name__}.QuotaError") == f"{__name__}.QuotaError"
    assert failure.check("QuotaError") is None


def test_check_works_on_a_rebuilt_failure():
    rebuilt = Failure.from_dict(_capture(_raise_chained).to_dict())
    assert rebuilt.check(ValueError) is ValueError
    assert rebuilt.check(QuotaError) is QuotaError


# -- reraise ------------------------------------------------------------------------------------------


def test_reraise_raises_the_live_exception_with_its_traceback():
    failure = _capture(_raise_chained)
    with pytest.raises(QuotaError) as info:
        failure.reraise()
    assert info.value is failure.exception
    assert any(entry.name == "_raise_chained" for entry in info.traceback)


def test_reraise_of_a_rebuilt_failure_raises_remote_failure_error():
    rebuilt = Failure.from_dict(_capture(_raise_chained).to_dict())
    with pytest.raises(RemoteFailureError) as info:
        rebuilt.reraise()
    assert isinstance(info.value, GreenflowError)
    assert info.value.failure is rebuilt
    assert "no quota for m1.large" in str(info.value)
    assert "QuotaError" in str(info.value)


def test_reraise_if_any_does_nothing_without_failures():
    Failure.reraise_if_any([])


def test_reraise_if_any_reraises_a_single_failure():
    with pytest.raises(KeyError):
        Failure.reraise_if_any([Failure.from_exception(KeyError("k"))])


def test_reraise_if_any_wraps_several_failures():
    first = Failure.from_exception(KeyError("k"))
    second = Failure.from_exception(ValueError("v"))
    with pytest.raises(WrappedFailure) as info:
        Failure.reraise_if_any(iter([first, second]))
    wrapped = info.value
    assert list(wrapped) == [first, second]
    assert len(wrapped) == 2
    assert wrapped.check(ValueError) is ValueError
    assert wrapped.find(ValueError) is second
    assert wrapped.check(OSError) is None
    assert wrapped.find(OSError) is None
    assert str(wrapped) == "2 atoms failed: (KeyError: 'k'), (ValueError: v)"


def test_wrapped_failure_names_each_failed_atom_and_its_exception_type():
    boot = Failure.from_exception(TimeoutError("no answer in 30s"))
    attach = Failure.from_exception(ValueError("volume busy"))
    with pytest.raises(WrappedFailure) as info:
        Failure.reraise_if_any([boot, attach], ["boot", "attach"])
    assert str(info.value) == (
        "2 atoms failed: 'boot' (TimeoutError: no answer in 30s), 'attach' (ValueError: volume busy)"
    )
    assert info.value.atoms == ("boot", "attach")


def test_engine_wrapped_failure_names_the_atoms_that_failed():
    from greenflow import Task, UnorderedFlow, load

    class Boom(Task):
        def __init__(self, name, error):
            super().__init__(name)
            self.error = error

        def execute(self):
            raise self.error

    flow = UnorderedFlow("create").add(Boom("boot", TimeoutError("slow")), Boom("attach", ValueError("busy")))
    with pytest.raises(WrappedFailure) as info:
        load(flow, engine="parallel", executor="thread").run()
    message = str(info.value)
    assert message.startswith("2 atoms failed: ")
    assert "'boot' (TimeoutError: slow)" in message and "'attach' (ValueError: busy)" in message


# -- formatting and equality ----------------------------------------------------------------------------


def test_pformat_names_type_and_message():
    failure = _capture(_raise_chained)
    assert failure.pformat() == f"Failure: {__name__}.QuotaError: no quota for m1.large"
    assert str(failure) == failure.pformat()
    assert repr(failure) == f"Failure({failure.pformat()!r})"


def test_pformat_with_traceback_appends_it():
    text = _capture(_raise_chained).pformat(traceback=True)
    head, rest = text.split("\n", 1)
    assert head.endswith("no quota for m1.large")
    assert rest.startswith("Traceback (most recent call last):")
    assert "_raise_chained" in rest


def test_matches_ignores_tracebacks_but_equality_does_not():
    raised = _capture(_raise_chained)
    fresh = Failure.from_exception(QuotaError("no quota for m1.large"))
    assert raised.matches(fresh)
    assert raised != fresh
    assert not raised.matches(Failure.from_exception(QuotaError("other")))
    assert raised != "not a failure"


def test_failures_are_not_hashable():
    with pytest.raises(TypeError):
        hash(Failure.from_exception(ValueError("x")))


def test_pformat_with_traceback_says_when_there_is_none():
    text = Failure.from_exception(ValueError("x")).pformat(traceback=True)
    assert text == "Failure: ValueError: x\nTraceback not available."


def test_pformat_of_a_failure_without_type_names_shows_the_message():
    assert Failure(exception_str="gone").pformat() == "Failure: gone"


# -- TaskFlow's surface: type names, iteration, arguments, copies -----------------------------------------


def test_type_names_stop_at_exception_as_taskflows_do():
    assert Failure.from_exception(KeyError("k")).exc_type_names == ("KeyError", "LookupError", "Exception")
    assert Failure.from_exception(KeyboardInterrupt()).exc_type_names == (
        "KeyboardInterrupt",
        "BaseException",
    )


def test_iterating_a_failure_gives_its_type_names():
    failure = _capture(_raise_chained)
    assert list(failure) == list(failure.exc_type_names)


def test_exception_args_are_captured_and_survive_the_dict_form():
    failure = Failure.from_exception(OSError(2, "No such file"))
    assert failure.exception_args == (2, "No such file")
    data = json.loads(json.dumps(failure.to_dict()))
    assert data["exc_args"] == [2, "No such file"]
    assert Failure.from_dict(data).exception_args == (2, "No such file")


def test_exception_args_that_are_not_json_values_are_left_out_of_the_dict():
    failure = Failure.from_exception(ValueError(object()))
    assert len(failure.exception_args) == 1
    assert failure.to_dict()["exc_args"] == []
    assert Failure.from_exception(ValueError("v")).to_dict(include_args=False)["exc_args"] == []


def test_copy_is_another_equal_failure():
    original = _capture(_raise_chained)
    twin = original.copy()
    assert twin is not original
    assert twin == original
    assert twin.exception is original.exception
    assert twin.cause is original.cause


def test_each_cause_in_the_dict_is_a_whole_failure_dict_with_its_own_causes():
    def chain():
        try:
            try:
                raise OSError("disk")
            except OSError as exc:
                raise KeyError("volume") from exc
        except KeyError as exc:
            raise RuntimeError("boot") from exc

    data = _capture(chain).to_dict()
    assert [c["exception_str"] for c in data["causes"]] == ["'volume'", "disk"]
    assert all(c["version"] == FAILURE_FORMAT_VERSION for c in data["causes"])
    assert [c["exception_str"] for c in data["causes"][0]["causes"]] == ["disk"]
    assert data["causes"][1]["causes"] == []


def test_a_cause_chain_that_loops_back_is_captured_once_per_exception():
    first, second = RuntimeError("first"), RuntimeError("second")
    first.__cause__ = second
    second.__cause__ = first  # an exception re-raised from one it caused
    failure = Failure.from_exception(first)
    assert [c.exception_str for c in failure.causes] == ["second"]


def test_a_rebuilt_failure_reraises_as_a_wrapped_failure_of_itself():
    rebuilt = Failure.from_dict(_capture(_raise_chained).to_dict())
    with pytest.raises(WrappedFailure) as info:
        rebuilt.reraise()
    assert list(info.value) == [rebuilt]
    assert info.value.check(ValueError) is ValueError


def test_wrapping_a_failure_of_a_wrapped_failure_flattens_it():
    first = Failure.from_exception(KeyError("k"))
    second = Failure.from_exception(ValueError("v"))
    try:
        raise WrappedFailure([first, second], ["a", "b"])
    except WrappedFailure:
        outer = Failure()
    third = Failure.from_exception(OSError("o"))
    wrapped = WrappedFailure([outer, third], ["both", "c"])
    assert list(wrapped) == [first, second, third]
    assert wrapped.atoms == ("a", "b", "c")

"""``Notifier``: registration, dispatch (TaskFlow calling convention), filters, failures."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import greenflow
from greenflow import states
from greenflow.atoms import Task
from greenflow.exceptions import InvalidOptionError, ReservedKeywordError
from greenflow.notifier import ANY, Notifier
from greenflow.patterns import LinearFlow


class Recorder:
    """A capturing callback."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], Any, dict[str, Any]]] = []

    def __call__(self, event_type: str, *args: Any, details: Any = None, **kwargs: Any) -> None:
        self.calls.append((event_type, args, details, kwargs))

    @property
    def events(self) -> list[str]:
        return [c[0] for c in self.calls]


def test_empty_notifier_is_falsy():
    notifier = Notifier()
    assert not notifier
    assert len(notifier) == 0


def test_notifier_with_a_callback_is_truthy():
    notifier = Notifier()
    notifier.register(states.SUCCESS, Recorder())
    assert notifier
    assert len(notifier) == 1


def test_callback_gets_event_type_args_details_and_kwargs():
    notifier, recorder = Notifier(), Recorder()
    notifier.register(states.SUCCESS, recorder, args=("extra",), kwargs={"tag": 1})
    notifier.notify(states.SUCCESS, {"task_name": "a"})
    assert recorder.calls == [(states.SUCCESS, ("extra",), {"task_name": "a"}, {"tag": 1})]


def test_callback_hears_only_its_event_type():
    notifier, recorder = Notifier(), Recorder()
    notifier.register(states.FAILURE, recorder)
    notifier.notify(states.SUCCESS, {})
    assert recorder.calls == []


def test_any_hears_every_event():
    notifier, recorder = Notifier(), Recorder()
    notifier.register(ANY, recorder)
    notifier.notify(states.RUNNING, {})
    notifier.notify(states.SUCCESS, {})
    assert recorder.events == [states.RUNNING, states.SUCCESS]


def test_notifying_any_calls_nobody_any_is_for_registering():
    notifier, recorder = Notifier(), Recorder()
    notifier.register(ANY, recorder)
    notifier.notify(ANY, {})
    assert recorder.events == []
    assert not notifier.can_trigger_notification(ANY)
    assert notifier.can_trigger_notification(states.SUCCESS)


def test_details_cannot_be_a_callback_kwarg():
    with pytest.raises(InvalidOptionError, match="'details' cannot be one of its kwargs"):
        Notifier().register(ANY, Recorder(), kwargs={"details": 5})


def test_a_details_kwarg_is_refused_as_a_key_error_too():
    # A key of the given mapping is at fault: callers catching KeyError (as TaskFlow raises) catch it.
    with pytest.raises(KeyError) as info:
        Notifier().register(ANY, Recorder(), kwargs={"details": 5, "other": 1})
    assert isinstance(info.value, ReservedKeywordError)
    assert str(info.value).startswith("callback ")  # the message, not KeyError's quoted repr


def test_listeners_iter_lists_the_callbacks_per_event_type():
    notifier, first, second = Notifier(), Recorder(), Recorder()
    notifier.register(states.SUCCESS, first)
    notifier.register(states.SUCCESS, second)
    notifier.register(ANY, first)
    assert dict(notifier.listeners_iter()) == {states.SUCCESS: [first, second], ANY: [first]}


def test_a_copy_has_the_same_callbacks_and_registers_on_its_own():
    notifier, first, second = Notifier(), Recorder(), Recorder()
    notifier.register(states.SUCCESS, first)
    twin = notifier.copy()
    twin.register(states.SUCCESS, second)
    notifier.deregister_event(states.SUCCESS)
    assert len(notifier) == 0
    assert dict(twin.listeners_iter()) == {states.SUCCESS: [first, second]}


def test_specific_and_any_callbacks_both_hear_an_event():
    notifier, specific, anything = Notifier(), Recorder(), Recorder()
    notifier.register(states.SUCCESS, specific)
    notifier.register(ANY, anything)
    notifier.notify(states.SUCCESS, {})
    assert specific.events == anything.events == [states.SUCCESS]


def test_details_filter_decides_which_events_reach_the_callback():
    notifier, recorder = Notifier(), Recorder()
    notifier.register(ANY, recorder, details_filter=lambda details: details.get("task_name") == "a")
    notifier.notify(states.SUCCESS, {"task_name": "b"})
    notifier.notify(states.SUCCESS, {"task_name": "a"})
    assert [c[2]["task_name"] for c in recorder.calls] == ["a"]


def test_registering_the_same_callback_twice_is_rejected():
    notifier, recorder = Notifier(), Recorder()
    notifier.register(states.SUCCESS, recorder)
    with pytest.raises(InvalidOptionError) as info:
        notifier.register(states.SUCCESS, recorder, args=(1,))
    assert "is already registered for 'SUCCESS'" in str(info.value)
    assert repr(recorder) in str(info.value)


def test_same_callback_may_register_for_other_events_or_with_another_filter():
    notifier, recorder = Notifier(), Recorder()
    notifier.register(states.SUCCESS, recorder)
    notifier.register(states.FAILURE, recorder)
    notifier.register(states.SUCCESS, recorder, details_filter=bool)
    assert len(notifier) == 3


def test_bound_methods_of_one_object_count_as_one_callback():
    class Listener:
        def on_event(self, event_type: str, details: Any = None) -> None:
            pass

    notifier, listener = Notifier(), Listener()
    notifier.register(states.SUCCESS, listener.on_event)
    assert notifier.is_registered(states.SUCCESS, listener.on_event)
    with pytest.raises(InvalidOptionError):
        notifier.register(states.SUCCESS, listener.on_event)


def test_callback_must_be_callable():
    with pytest.raises(InvalidOptionError, match="notifier callback must be callable, got 'print'"):
        Notifier().register(states.SUCCESS, "print")


def test_details_filter_must_be_callable():
    with pytest.raises(InvalidOptionError, match="details_filter must be callable, got 3"):
        Notifier().register(states.SUCCESS, Recorder(), details_filter=3)


def test_deregister_removes_the_registration():
    notifier, recorder = Notifier(), Recorder()
    notifier.register(states.SUCCESS, recorder)
    assert notifier.deregister(states.SUCCESS, recorder) is True
    assert not notifier.is_registered(states.SUCCESS, recorder)
    assert not notifier
    notifier.notify(states.SUCCESS, {})
    assert recorder.calls == []


def test_deregister_of_an_unknown_callback_returns_false():
    notifier, recorder = Notifier(), Recorder()
    assert notifier.deregister(states.SUCCESS, recorder) is False
    notifier.register(states.SUCCESS, recorder, details_filter=bool)
    assert notifier.deregister(states.SUCCESS, recorder) is False  # registered with a filter
    assert notifier.deregister(states.SUCCESS, recorder, details_filter=bool) is True


def test_deregister_event_and_reset_remove_registrations():
    notifier = Notifier()
    notifier.register(states.SUCCESS, Recorder())
    notifier.register(states.SUCCESS, Recorder())
    notifier.register(states.FAILURE, Recorder())
    assert notifier.deregister_event(states.SUCCESS) == 2
    assert len(notifier) == 1
    notifier.reset()
    assert not notifier


def test_failing_callback_is_logged_and_does_not_stop_the_others(caplog):
    notifier, recorder = Notifier(), Recorder()

    def broken(event_type: str, details: Any = None) -> None:
        raise RuntimeError("listener bug")

    notifier.register(states.SUCCESS, broken)
    notifier.register(states.SUCCESS, recorder)
    with caplog.at_level(logging.WARNING, logger="greenflow.notifier"):
        notifier.notify(states.SUCCESS, {})
    assert recorder.events == [states.SUCCESS]
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "failed on event 'SUCCESS'" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


def test_callback_may_deregister_itself_while_being_notified():
    notifier = Notifier()
    calls: list[str] = []

    def once(event_type: str, details: Any = None) -> None:
        calls.append(event_type)
        notifier.deregister(ANY, once)

    notifier.register(ANY, once)
    notifier.notify(states.RUNNING, {})
    notifier.notify(states.SUCCESS, {})
    assert calls == [states.RUNNING]


def test_engine_notifiers_report_flow_and_atom_transitions():
    class Work(Task):
        def execute(self):
            return 7

    engine = greenflow.load(LinearFlow("f").add(Work("work")))
    flow_events, atom_events = Recorder(), Recorder()
    engine.notifier.register(ANY, flow_events)
    engine.atom_notifier.register(ANY, atom_events)
    engine.run()
    assert flow_events.events == [states.RUNNING, states.SUCCESS]
    assert flow_events.calls[-1][2]["flow_name"] == "f"
    assert atom_events.events == [states.RUNNING, states.SUCCESS]
    success = atom_events.calls[-1][2]
    assert (success["task_name"], success["result"], success["old_state"]) == ("work", 7, states.RUNNING)


def test_failing_engine_listener_does_not_fail_the_flow(caplog):
    class Work(Task):
        def execute(self):
            return 1

    def broken(event_type: str, details: Any = None) -> None:
        raise RuntimeError("listener bug")

    engine = greenflow.load(LinearFlow("f").add(Work("work")))
    engine.atom_notifier.register(ANY, broken)
    with caplog.at_level(logging.WARNING, logger="greenflow.notifier"):
        engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert caplog.records

"""Callbacks on the flow and atom notifiers receive each transition with TaskFlow's detail keys."""

from taskflow import engines, task
from taskflow.patterns import linear_flow
from taskflow.types import notifier


class Hi(task.Task):
    def execute(self):
        return "hi"


class Oops(task.Task):
    def execute(self):
        raise KeyError("oops")


def flow_cb(state, details):
    print("flow", state, sorted(details), details["flow_name"], details["old_state"])


def atom_cb(state, details):
    result = details.get("result", "-")
    shown = type(result).__name__ if not isinstance(result, str) or result == "-" else result
    print("atom", state, sorted(details), details["task_name"], details["old_state"], shown)


for flow in (linear_flow.Flow("ok").add(Hi("hi")), linear_flow.Flow("bad").add(Hi("hi"), Oops("oops"))):
    engine = engines.load(flow)
    engine.notifier.register(notifier.Notifier.ANY, flow_cb)
    engine.atom_notifier.register(notifier.Notifier.ANY, atom_cb)
    try:
        engine.run()
    except KeyError as exc:
        print("raised", repr(exc))

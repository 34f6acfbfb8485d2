"""Suspend a running flow and resume it later, without redoing finished work.

``engine.suspend()`` (here called from a notification callback, as an
operator's "pause" button would) lets the running task finish, starts
nothing new, and ends the run in SUSPENDED. Calling ``run()`` again carries on
from the first task that has not run; finished tasks keep their results.

Run it: ``python examples/suspend_resume.py``
"""

from greenflow import LinearFlow, Task, load

CALLS = []


class Step(Task):
    def execute(self, value):
        CALLS.append(self.name)
        return value + 1


def main():
    flow = LinearFlow("migrate").add(
        Step("copy", provides="copied", rebind=["start"]),
        Step("verify", provides="verified", rebind=["copied"]),
        Step("switch", provides="switched", rebind=["verified"]),
        Step("cleanup", provides="done", rebind=["switched"]),
    )
    engine = load(flow, store={"start": 0})

    def pause_after_verify(state, details):
        if details["task_name"] == "verify":
            engine.suspend()

    engine.atom_notifier.register("SUCCESS", pause_after_verify)
    engine.run()
    print("first run:", engine.storage.get_flow_state(), "ran", CALLS)

    CALLS.clear()
    engine.atom_notifier.deregister("SUCCESS", pause_after_verify)
    engine.run()
    print("second run:", engine.storage.get_flow_state(), "ran", CALLS)
    print("done =", engine.storage.fetch("done"))


if __name__ == "__main__":
    main()

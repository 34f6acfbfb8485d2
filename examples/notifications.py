"""Watching an engine: callbacks for flow and atom state changes, and progress.

``engine.notifier`` reports the flow's transitions, ``engine.atom_notifier``
each task's (and ``update_progress`` events). A callback receives the event
type (the new state) and a ``details`` dict; register it for one state or for
every event with ``ANY``.

Run it: ``python examples/notifications.py``
"""

from greenflow import LinearFlow, Task, load
from greenflow.notifier import ANY


class Resize(Task):
    def execute(self, images):
        for done in range(1, len(images) + 1):
            # Progress goes to the engine's atom notifier while execute runs.
            self.update_progress(done / len(images))
        return [f"{name}-small" for name in images]


class Publish(Task):
    def execute(self, thumbnails):
        if not thumbnails:
            raise ValueError("nothing to publish")
        return len(thumbnails)


def on_flow(state, details):
    print(f"flow {details['flow_name']}: {details['old_state']} -> {state}")


def on_atom(state, details):
    if state == "update_progress":
        print(f"  task {details['task_name']}: progress {details['progress']:.2f}")
        return
    # Result-bearing states (SUCCESS, FAILURE, REVERTED, ...) carry a result;
    # the uuid is left out of the print because it differs on every run.
    extra = f" result={details['result']!r}" if "result" in details else ""
    print(f"  task {details['task_name']}: {details['old_state']} -> {state}{extra}")


def run(images):
    flow = LinearFlow("thumbnails").add(
        Resize("resize", provides="thumbnails"),
        Publish("publish", provides="published"),
    )
    engine = load(flow, store={"images": images})
    engine.notifier.register(ANY, on_flow)
    engine.atom_notifier.register(ANY, on_atom)
    try:
        engine.run()
    except ValueError as exc:
        print(f"run() raised: {exc}")


def main():
    run(["cat", "dog"])
    print()
    run([])


if __name__ == "__main__":
    main()

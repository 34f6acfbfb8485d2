"""``update_progress`` reports go to the task's own notifier; storage keeps the latest."""

from taskflow import engines, task
from taskflow.patterns import linear_flow


class Copy(task.Task):
    def execute(self):
        for done in (0.25, 0.5, 0.75):
            self.update_progress(done)
        return "copied"


def on_progress(event, details):
    print(event, details["progress"])


copy = Copy("copy")
copy.notifier.register(task.EVENT_UPDATE_PROGRESS, on_progress)
engine = engines.load(linear_flow.Flow("copying").add(copy))
engine.compile()
engine.prepare()
print("before:", engine.storage.get_task_progress("copy"))
engine.run()
print("after:", engine.storage.get_task_progress("copy"))
print(engine.storage.fetch_all())

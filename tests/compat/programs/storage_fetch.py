"""Reading a run's storage: fetch, fetch_all, atom states and results, injected values."""

from taskflow import engines, exceptions, task
from taskflow.patterns import linear_flow


class Split(task.Task):
    def execute(self, text):
        return text.split()


class Count(task.Task):
    def execute(self, words):
        return len(words)


flow = linear_flow.Flow("words").add(Split(provides="words"), Count(provides="count"))
engine = engines.load(flow)
engine.storage.inject({"text": "the quick brown fox"})
engine.run()
storage = engine.storage
print(storage.fetch("words"), storage.fetch("count"), storage.fetch("text"))
print(sorted(storage.fetch_all()))
print(storage.get_atom_state("__main__.Count"), storage.get("__main__.Split"))
print(storage.get_flow_state(), storage.has_failures(), storage.get_failures())
try:
    storage.fetch("nothing")
except exceptions.NotFound:
    print("nothing: NotFound")

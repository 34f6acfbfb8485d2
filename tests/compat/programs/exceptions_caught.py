"""TaskFlow's exception names catch what the engine raises."""

from taskflow import engines, exceptions, task
from taskflow.patterns import linear_flow


class Need(task.Task):
    def execute(self, missing_value):
        return missing_value


class Nop(task.Task):
    def execute(self):
        pass


try:
    engines.run(linear_flow.Flow("missing").add(Need()))
except exceptions.MissingDependencies:
    print("MissingDependencies caught")

try:
    engines.run(linear_flow.Flow("missing2").add(Need()))
except exceptions.DependencyFailure:
    print("DependencyFailure caught")

try:
    engines.run(linear_flow.Flow("dups").add(Nop("same"), Nop("same")))
except exceptions.Duplicate:
    print("Duplicate caught")

engine = engines.load(linear_flow.Flow("nf").add(Nop("nop")))
engine.run()
try:
    engine.storage.get_atom_state("no-such-atom")
except exceptions.NotFound:
    print("NotFound caught")

for name in ("MissingDependencies", "Duplicate", "NotFound", "StorageFailure", "InvalidState"):
    print(name, issubclass(getattr(exceptions, name), exceptions.TaskFlowException))

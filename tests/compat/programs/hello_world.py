"""Hello world: a linear flow of two tasks; the second uses what the first provides."""

from taskflow import engines, task
from taskflow.patterns import linear_flow


class Greet(task.Task):
    default_provides = "greeting"

    def execute(self, name):
        print(f"greeting {name}")
        return f"hello {name}"


class Shout(task.Task):
    def execute(self, greeting):
        print(greeting.upper())
        return len(greeting)


flow = linear_flow.Flow("hello").add(Greet(), Shout("shout", provides="length"))
results = engines.run(flow, store={"name": "world"})
print(sorted(results.items()))

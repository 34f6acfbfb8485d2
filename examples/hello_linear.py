"""A linear flow: each task's result becomes the next task's argument.

Run it: ``python examples/hello_linear.py``
"""

from greenflow import LinearFlow, Task, load


class Greet(Task):
    # ``name`` is a requirement because it is a parameter of execute(): it is
    # looked up by name among injected values and earlier results.
    def execute(self, name):
        return f"Hello, {name}"


class Shout(Task):
    def execute(self, greeting):
        return greeting.upper() + "!"


class Count(Task):
    def execute(self, loud):
        return len(loud)


def main():
    # ``provides`` names each result; a later task asks for it by that name,
    # so the flow's data edges need no extra wiring.
    flow = LinearFlow("hello").add(
        Greet("greet", provides="greeting"),
        Shout("shout", provides="loud"),
        Count("count", provides="length"),
    )
    # ``store`` injects inputs that no task provides.
    engine = load(flow, store={"name": "greenflow"})
    engine.run()
    print("greeting:", engine.storage.fetch("greeting"))
    print("loud:", engine.storage.fetch("loud"))
    print("length:", engine.storage.fetch("length"))
    # fetch_all() returns every symbol, injected ones included; sorted so the
    # output does not depend on dict order.
    for key, value in sorted(engine.storage.fetch_all().items()):
        print(f"  {key} = {value!r}")
    print("flow state:", engine.storage.get_flow_state())


if __name__ == "__main__":
    main()

"""Retries: run a flaky part of a flow again instead of reverting everything.

A retry controller is attached to a flow. When something in that flow fails,
the flow's tasks are reverted and the controller decides: run the flow again,
or give up (revert). ``Times(n)`` allows ``n`` attempts and provides the
attempt number; ``ForEach(values)`` tries the flow once per value, passing the
value in, until one attempt succeeds.

Run it: ``python examples/retry_times.py``
"""

from greenflow import ForEach, LinearFlow, Task, Times, load

LOG = []


class Connect(Task):
    # Fails on its first two calls: a stand-in for a service that is still
    # starting up. ``attempt`` is what the Times controller provides.
    def execute(self, attempt):
        if attempt < 3:
            LOG.append(f"attempt {attempt}: connection refused")
            raise ConnectionError(f"refused on attempt {attempt}")
        LOG.append(f"attempt {attempt}: connected")
        return f"session-{attempt}"

    def revert(self, attempt, result, flow_failures):
        # Called between attempts, so a half-made connection can be cleaned up.
        LOG.append(f"attempt {attempt}: cleaned up")


class Download(Task):
    BROKEN = {"mirror-a", "mirror-b"}

    def execute(self, mirror):
        if mirror in self.BROKEN:
            LOG.append(f"{mirror}: 404")
            raise LookupError(f"{mirror} has no copy")
        LOG.append(f"{mirror}: ok")
        return f"file from {mirror}"


def times_example():
    flow = LinearFlow("connect", retry=Times(3, provides="attempt")).add(
        Connect("connect_db", provides="session"),
    )
    engine = load(flow)
    engine.run()
    print("Times(3):")
    for line in LOG:
        print(" ", line)
    print("  session:", engine.storage.fetch("session"))
    print("  attempts recorded:", len(engine.storage.get_retry_history("connect_retry")))


def for_each_example():
    LOG.clear()
    # The controller provides ``mirror``; each attempt gets the next value.
    retry = ForEach(["mirror-a", "mirror-b", "mirror-c", "mirror-d"], provides="mirror")
    flow = LinearFlow("download", retry=retry).add(Download("fetch", provides="payload"))
    engine = load(flow)
    engine.run()
    print("ForEach:")
    for line in LOG:
        print(" ", line)
    print("  payload:", engine.storage.fetch("payload"))


def give_up_example():
    LOG.clear()
    # With too few attempts the controller gives up: the flow is reverted and
    # run() raises the last failure.
    flow = LinearFlow("connect", retry=Times(2, provides="attempt")).add(Connect("connect_db"))
    engine = load(flow)
    try:
        engine.run()
    except ConnectionError as exc:
        print("Times(2): gave up:", exc)
    print("  flow state:", engine.storage.get_flow_state())


def main():
    times_example()
    for_each_example()
    give_up_example()


if __name__ == "__main__":
    main()

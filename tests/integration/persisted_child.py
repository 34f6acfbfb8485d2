"""A child process for the crash and claim tests: runs or resumes a persisted five-step flow.

Usage: ``python persisted_child.py MODE HUB BACKEND_URL WORKDIR``

* ``run``: load a new run, write its flow detail uuid to ``WORKDIR/flow_uuid``
  and run it; step 3 writes ``WORKDIR/marker`` then sleeps (the test kills
  the process there).
* ``hold``: like ``run``, but step 1 writes the marker and waits until
  ``WORKDIR/release`` exists (another engine tries the flow meanwhile).
* ``resume``: load the flow detail named in ``WORKDIR/flow_uuid`` from the
  backend and run it to the end; write the final values to
  ``WORKDIR/result.json``, or the error to ``WORKDIR/error.txt``.
* ``revert`` and ``resume-revert``: like ``run`` and ``resume``, but step 4
  fails, so the flow reverts; in ``revert``, step 2's revert writes the
  marker then sleeps (the test kills the process mid-revert).
* ``retry`` and ``resume-retry``: the flow has a retry (``Times(2)``), and
  steps 3 and 4 run side by side (step 4 takes ``x2``); in ``retry`` step 4
  fails, and step 3, once that failure is in the backend, writes the marker
  then sleeps (the test kills the process with the failure recorded and
  nothing decided about it: the engine waits for step 3 first).

Every step appends its name to ``WORKDIR/executions.log`` when it starts
executing, and to ``WORKDIR/reverts.log`` when it starts reverting, so the
test can tell which steps ran, and how often. ``HUB`` is ``threading`` or
``gevent`` (patched before anything else is imported).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    mode, hub, url, workdir = argv
    if hub == "gevent":
        import greenflow.hubs

        greenflow.hubs.patch("gevent")

    import json
    import os
    import time
    from pathlib import Path

    import greenflow
    from greenflow.atoms import Task, Times
    from greenflow.patterns import LinearFlow, UnorderedFlow
    from greenflow.persistence import fetch_backend

    work = Path(workdir)

    def write_atomically(name: str, text: str) -> None:
        tmp = work / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, work / name)

    reverting = mode in ("revert", "resume-revert")

    def record(log_name: str, line: str) -> None:
        with open(work / log_name, "a") as log:
            log.write(f"{line}\n")
            log.flush()
            os.fsync(log.fileno())

    retrying = mode in ("retry", "resume-retry")

    class Step(Task):
        def __init__(self, index: int) -> None:
            before = 2 if retrying and index == 4 else index - 1
            super().__init__(f"step{index}", provides=f"x{index}", rebind={"x": f"x{before}"})
            self.index = index

        def execute(self, x: int) -> int:
            record("executions.log", self.name)
            if (reverting or mode == "retry") and self.index == 4:
                raise RuntimeError("step4 failed")
            if mode == "retry" and self.index == 3:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not step4_failed():
                    time.sleep(0.02)
                write_atomically("marker", "step3")
                time.sleep(120)  # killed here
            if mode == "run" and self.index == 3:
                write_atomically("marker", "step3")
                time.sleep(120)  # killed here
            if mode == "hold" and self.index == 1:
                write_atomically("marker", "step1")
                deadline = time.monotonic() + 60
                while not (work / "release").exists() and time.monotonic() < deadline:
                    time.sleep(0.02)
            return x + self.index

        def revert(self, **kwargs: object) -> None:
            record("reverts.log", self.name)
            if mode == "revert" and self.index == 2:
                write_atomically("marker", "step2")
                time.sleep(120)  # killed here

    if retrying:
        steps = [Step(i) for i in range(1, 6)]
        flow = LinearFlow("crashy", retry=Times(2, name="again")).add(
            steps[0], steps[1], UnorderedFlow("side-by-side").add(steps[2], steps[3]), steps[4]
        )
    else:
        flow = LinearFlow("crashy").add(*(Step(i) for i in range(1, 6)))
    backend = fetch_backend(url)

    def step4_failed() -> bool:
        uuid = (work / "flow_uuid").read_text()
        stored = fetch_backend(url).get_connection().get_flow_details(uuid)
        found = stored.find_by_name("step4")
        return found is not None and found.state == "FAILURE"

    options = {"engine": "parallel", "hub": hub}
    if mode in ("run", "hold", "revert", "retry"):
        engine = greenflow.load(flow, store={"x0": 100}, backend=backend, **options)
        write_atomically("flow_uuid", engine.storage.flow_uuid)
        write_atomically("owner", engine.owner)
        engine.run()
        return 0
    flow_uuid = (work / "flow_uuid").read_text()
    detail = backend.get_connection().get_flow_details(flow_uuid)
    try:
        engine = greenflow.load(flow, flow_detail=detail, backend=backend, **options)
        engine.run()
    except Exception as exc:
        write_atomically("error.txt", f"{type(exc).__name__}: {exc}")
        return 1
    values = engine.storage.fetch_all()
    write_atomically("result.json", json.dumps({k: values[k] for k in sorted(values)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

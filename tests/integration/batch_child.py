"""A child for the group-commit crash test: many engines, killed between a commit and the wake-up.

Usage: ``python batch_child.py MODE HUB BACKEND_URL WORKDIR [N KILL_AT]``

* ``run``: ``run_many`` over ``N`` new flows ``batch-<i>`` (three tasks each,
  ``a`` -> ``b`` -> ``c``, computing ``(i + 2) * 2``) recording to the backend.
  The backend's writer is wrapped: right after a round is committed, and
  before any engine of it hears of it, the process kills itself with SIGKILL
  (after writing ``WORKDIR/killed``): after round 2 when ``KILL_AT`` is
  ``early`` (claims, creations, the first RUNNING), after the first round that
  brings the number of SUCCESS transitions committed to ``N`` when it is
  ``mid``.
* ``resume``: every flow detail the backend holds is loaded again (its flow
  rebuilt from its name) and run to the end, all at once through
  ``run_many``; ``WORKDIR/result.json`` maps each flow name to its final
  state and its ``z``.

Every task appends ``<flow name>:<task name>`` to ``WORKDIR/executions.log``
(flushed and fsynced) when it starts executing. ``HUB`` is ``threading`` or
``gevent`` (patched before anything else is imported).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    mode, hub, url, workdir = argv[:4]
    if hub == "gevent":
        import greenflow.hubs

        greenflow.hubs.patch("gevent")

    import json
    import os
    import signal
    import time
    from pathlib import Path

    import greenflow
    from greenflow.persistence import shared_backend
    from greenflow.persistence._writer import GroupWriter

    work = Path(workdir)
    log = open(work / "executions.log", "a")  # noqa: SIM115  (kept open for the process's life)

    class Step(greenflow.Task):
        def execute(self, **kwargs: int) -> int:
            log.write(f"{self.flow_name}:{self.name}\n")
            log.flush()
            os.fsync(log.fileno())
            time.sleep(0.005)
            (value,) = kwargs.values() if kwargs else (self.seed,)
            return value * 2 if self.name == "c" else value + 1

    def flow(i: int) -> greenflow.LinearFlow:
        a = Step("a", provides="x")
        b = Step("b", provides="y", requires=["x"])
        c = Step("c", provides="z", requires=["y"])
        for step in (a, b, c):
            step.flow_name, step.seed = f"batch-{i}", i
        return greenflow.LinearFlow(f"batch-{i}").add(a, b, c)

    backend = shared_backend(url)
    if mode == "run":
        n, kill_at = int(argv[4]), argv[5]
        write_batch = backend.write_batch
        rounds, successes = [0], [0]

        def killing_write_batch(groups: list) -> list:  # type: ignore[type-arg]
            errors = write_batch(groups)  # committed: now die before any engine wakes
            rounds[0] += 1
            # A stored row is the backend's (JSON text or a dict of columns): its state shows in it.
            successes[0] += sum(str(row).count("SUCCESS") > 0 for g in groups for row in g.atoms.values())
            if (kill_at == "early" and rounds[0] == 2) or (kill_at == "mid" and successes[0] >= n):
                (work / "killed").write_text(str(len(groups)))
                os.kill(os.getpid(), signal.SIGKILL)
            return errors  # type: ignore[no-any-return]

        backend.write_batch = killing_write_batch
        assert GroupWriter  # the writer calls backend.write_batch once per round
        greenflow.run_many((flow(i) for i in range(n)), concurrency=n, hub=hub, backend=backend)
        return 0  # not reached when the kill round comes

    conn = backend.get_connection()
    engines = []
    for book in conn.get_logbooks():
        for detail in book:
            i = int(detail.name.split("-", 1)[1])
            engines.append(greenflow.load(flow(i), flow_detail=detail, backend=backend, hub=hub))
    summary = greenflow.run_many(engines, hub=hub)
    results = {}
    for outcome in summary.outcomes:
        z = outcome.results.get("z") if outcome.results else None
        results[outcome.name] = [outcome.state, z]
    tmp = work / ".result.json.tmp"
    tmp.write_text(json.dumps(results))
    os.replace(tmp, work / "result.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

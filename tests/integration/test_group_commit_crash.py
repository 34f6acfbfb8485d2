"""Group commit survives a kill between a round's commit and the engines' wake-up.

A child runs 40 engines through ``run_many``, recording to one shared backend
whose writer commits their transitions in rounds; right after round K is
committed, before any engine of it is woken, the child SIGKILLs itself. Then:

* nothing ran that was not durably recorded first: a flow absent from the
  backend executed no task, and every task that executed has its RUNNING
  (or later) state stored;
* a second child resumes every stored flow: a task recorded SUCCESS never
  runs again, every other task runs (again, or for the first time), and
  every flow ends SUCCESS with the right result.

On the directory backend, SQLite and PostgreSQL, under gevent and under the threading hub, killed
early (after round 2: claims and creations) and mid-run (once as many SUCCESS
transitions as engines are committed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from greenflow import states
from greenflow.persistence import fetch_backend

from .conftest import backend_url_for

HERE = Path(__file__).resolve().parent
CHILD = HERE / "batch_child.py"
REPO_ROOT = HERE.parents[1]
ENGINES = 40
TIMEOUT = 90.0


def _child(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("GREENFLOW_HUB", None)
    return subprocess.run(
        [sys.executable, str(CHILD), *args], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )


def _executions(workdir: Path) -> Counter[str]:
    path = workdir / "executions.log"
    return Counter(path.read_text().split()) if path.exists() else Counter()


@pytest.mark.parametrize("kill_at", ["early", "mid"])
@pytest.mark.parametrize("hub", ["gevent", "threading"])
@pytest.mark.parametrize("kind", ["dir", "sqlite", "postgresql"])
def test_a_kill_right_after_a_commit_loses_nothing_and_reruns_nothing_recorded(
    kind: str, hub: str, kill_at: str, request: Any, tmp_path: Path
) -> None:
    url = backend_url_for(kind, request, tmp_path)
    setup = fetch_backend(url)
    try:
        setup.get_connection().upgrade()
        setup.get_connection().clear_all()
    finally:
        setup.close()
    workdir = tmp_path / "work"
    workdir.mkdir()

    run = _child(workdir, "run", hub, url, str(workdir), str(ENGINES), kill_at)
    assert run.returncode == -signal.SIGKILL, f"the child was to kill itself:\n{run.stdout}\n{run.stderr}"
    assert (workdir / "killed").exists()
    before = _executions(workdir)

    reader = fetch_backend(url)
    try:
        stored = {
            detail.name: {atom.name: atom.state for atom in detail}
            for book in reader.get_connection().get_logbooks()
            for detail in book
        }
    finally:
        reader.close()
    assert stored, "no flow was recorded before the kill"
    # Nothing ran that was not durably recorded first.
    for line in before:
        flow, task = line.split(":")
        assert flow in stored, f"{line} executed, but its flow was never recorded"
        assert stored[flow][task] != states.PENDING, f"{line} executed, but RUNNING was never recorded"
    assert all(count == 1 for count in before.values()), before
    done = {
        f"{flow}:{task}" for flow, atoms in stored.items() for task, s in atoms.items() if s == states.SUCCESS
    }
    if kill_at == "mid":  # mid-run: some tasks done, some not (else the kill missed what it tests)
        assert done, "the kill came before any task was recorded done"
        assert len(done) < ENGINES * 3, "the kill came after every task was recorded done"

    resume = _child(workdir, "resume", hub, url, str(workdir))
    assert resume.returncode == 0, f"resume failed:\n{resume.stdout}\n{resume.stderr}"
    results = json.loads((workdir / "result.json").read_text())
    assert set(results) == set(stored)
    for name, (state, z) in results.items():
        i = int(name.split("-", 1)[1])
        assert (state, z) == (states.SUCCESS, (i + 2) * 2), name
    after = _executions(workdir)
    for flow in stored:
        for task in "abc":
            key = f"{flow}:{task}"
            if key in done:
                assert after[key] == 1, f"{key} was recorded SUCCESS and ran again"
            else:
                assert after[key] == before[key] + 1, f"{key} (not recorded done) ran {after[key]} times"

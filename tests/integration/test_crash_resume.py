"""A process killed in the middle of a flow; another process resumes it from the backend.

A child runs a persisted five-step flow; step 3 writes a marker and sleeps;
the test kills the child with SIGKILL there. What was recorded must be all
there, and a second child resumes: steps 1 and 2 (recorded SUCCESS) do not run
again, step 3 (left RUNNING) runs again, and the results are right. The same
under the threading hub and in gevent-patched children, on the directory,
SQLite and PostgreSQL backends. A child killed while the flow reverts (step 4
failed, step 2's revert sleeps) is resumed the same way: the revert goes on
(step 2 reverted again, then step 1; step 3 and step 4 not twice), no step
executes again, and the flow ends REVERTED raising step 4's recorded failure.
A child killed with step 4's failure recorded, while its retry was being asked
what to do, is resumed by asking the retry: the flow is reverted and runs again.
Claims are tested across processes too: an engine in one process refuses a
flow detail another process is running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import greenflow
from greenflow import states
from greenflow.atoms import Task
from greenflow.exceptions import EngineStateError
from greenflow.patterns import LinearFlow
from greenflow.persistence import fetch_backend

from .conftest import backend_url_for

HERE = Path(__file__).resolve().parent
CHILD = HERE / "persisted_child.py"
REPO_ROOT = HERE.parents[1]
TIMEOUT = 60.0


def _spawn(mode: str, hub: str, url: str, workdir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("GREENFLOW_HUB", None)
    return subprocess.Popen(
        [sys.executable, str(CHILD), mode, hub, url, str(workdir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for(path: Path, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        if child.poll() is not None:
            output = child.stdout.read().decode() if child.stdout else ""
            pytest.fail(f"child exited with {child.returncode} before writing {path.name}:\n{output}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"child did not write {path.name} within {TIMEOUT}s")
        time.sleep(0.01)


def _finish(child: subprocess.Popen[bytes]) -> tuple[int, str]:
    try:
        out, _ = child.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        out, _ = child.communicate()
    return child.returncode, out.decode()


def _executions(workdir: Path) -> list[str]:
    return (workdir / "executions.log").read_text().split()


def _reverts(workdir: Path) -> list[str]:
    return (workdir / "reverts.log").read_text().split()


@pytest.fixture
def opened() -> Any:
    """Opens backends by URL and closes them after the test (no connection outlives it)."""
    backends: list[Any] = []

    def open_url(url: str) -> Any:
        backend = fetch_backend(url)
        backends.append(backend)
        return backend

    yield open_url
    for backend in backends:
        backend.close()


CRASH_BACKENDS = ("dir", "sqlite", "postgresql")
HUBS = ("threading", "gevent")


@pytest.fixture(params=HUBS)
def hub(request: pytest.FixtureRequest) -> str:
    if request.param == "gevent":
        pytest.importorskip("gevent", reason="gevent is not installed (pip install greenflow[gevent])")
    return str(request.param)


def _killed_at_marker(
    mode: str, kind: str, hub: str, request: Any, tmp_path: Any, opened: Any
) -> tuple[str, Any]:
    """Run the child in ``mode`` on an empty store of ``kind``; SIGKILL it at its marker.

    Returns the store's URL and the work directory the child wrote its logs in.
    """
    url = backend_url_for(kind, request, tmp_path)
    setup = opened(url)
    setup.get_connection().upgrade()
    setup.get_connection().clear_all()
    workdir = tmp_path / "work"
    workdir.mkdir()
    child = _spawn(mode, hub, url, workdir)
    _wait_for(workdir / "marker", child)
    child.send_signal(signal.SIGKILL)
    code, _ = _finish(child)
    assert code == -signal.SIGKILL
    return url, workdir


@pytest.mark.parametrize("kind", CRASH_BACKENDS)
def test_flow_killed_mid_run_resumes_without_rerunning_finished_steps(kind, hub, request, tmp_path, opened):
    url, workdir = _killed_at_marker("run", kind, hub, request, tmp_path, opened)
    assert _executions(workdir) == ["step1", "step2", "step3"]

    # Everything recorded before the kill is there, read by a fresh backend object.
    flow_uuid = (workdir / "flow_uuid").read_text()
    detail = opened(url).get_connection().get_flow_details(flow_uuid)
    recorded = {a.name: (a.state, a.results) for a in detail}
    assert recorded == {
        "step1": (states.SUCCESS, 101),
        "step2": (states.SUCCESS, 103),
        "step3": (states.RUNNING, None),
        "step4": (states.PENDING, None),
        "step5": (states.PENDING, None),
    }
    assert detail.state == states.RUNNING
    assert detail.meta["injected"] == {"x0": 100}

    resumer = _spawn("resume", hub, url, workdir)
    code, output = _finish(resumer)
    error = (workdir / "error.txt").read_text() if (workdir / "error.txt").exists() else ""
    assert code == 0, f"resume failed: {error}\n{output}"
    assert _executions(workdir) == ["step1", "step2", "step3", "step3", "step4", "step5"]
    values = json.loads((workdir / "result.json").read_text())
    assert values == {"x0": 100, "x1": 101, "x2": 103, "x3": 106, "x4": 110, "x5": 115}

    final = opened(url).get_connection().get_flow_details(flow_uuid)
    assert final.state == states.SUCCESS
    assert {a.name: a.results for a in final} == {
        "step1": 101,
        "step2": 103,
        "step3": 106,
        "step4": 110,
        "step5": 115,
    }


@pytest.mark.parametrize("kind", CRASH_BACKENDS)
def test_flow_killed_mid_revert_resumes_the_revert_without_running_steps_again(
    kind, hub, request, tmp_path, opened
):
    url, workdir = _killed_at_marker("revert", kind, hub, request, tmp_path, opened)
    assert _executions(workdir) == ["step1", "step2", "step3", "step4"]
    assert _reverts(workdir) == ["step4", "step3", "step2"]

    flow_uuid = (workdir / "flow_uuid").read_text()
    detail = opened(url).get_connection().get_flow_details(flow_uuid)
    assert detail.state == states.RUNNING
    assert {a.name: (a.state, a.intention) for a in detail} == {
        "step1": (states.SUCCESS, states.REVERT),
        "step2": (states.REVERTING, states.REVERT),
        "step3": (states.REVERTED, states.REVERT),
        "step4": (states.REVERTED, states.REVERT),
        "step5": (states.PENDING, states.REVERT),
    }

    resumer = _spawn("resume-revert", hub, url, workdir)
    code, output = _finish(resumer)
    assert code == 1, output
    # The failure recorded by the killed process, rebuilt from the backend.
    assert (workdir / "error.txt").read_text() == "RemoteFailureError: step4 failed (RuntimeError)"
    assert _executions(workdir) == ["step1", "step2", "step3", "step4"]
    assert _reverts(workdir) == ["step4", "step3", "step2", "step2", "step1"]

    final = opened(url).get_connection().get_flow_details(flow_uuid)
    assert final.state == states.REVERTED
    assert {a.name: a.state for a in final} == {
        "step1": states.REVERTED,
        "step2": states.REVERTED,
        "step3": states.REVERTED,
        "step4": states.REVERTED,
        "step5": states.PENDING,
    }
    assert final.find_by_name("step4").failure.exception_str == "step4 failed"


@pytest.mark.parametrize("kind", CRASH_BACKENDS)
def test_flow_killed_before_its_retry_decided_resumes_by_asking_the_retry(
    kind, hub, request, tmp_path, opened
):
    url, workdir = _killed_at_marker("retry", kind, hub, request, tmp_path, opened)
    assert sorted(_executions(workdir)) == ["step1", "step2", "step3", "step4"]
    flow_uuid = (workdir / "flow_uuid").read_text()
    detail = opened(url).get_connection().get_flow_details(flow_uuid)
    assert {a.name: (a.state, a.intention) for a in detail if a.name in ("again", "step3", "step4")} == {
        "again": (states.SUCCESS, states.EXECUTE),  # nothing decided about step 4's failure
        "step3": (states.RUNNING, states.EXECUTE),
        "step4": (states.FAILURE, states.EXECUTE),
    }

    resumer = _spawn("resume-retry", hub, url, workdir)
    code, output = _finish(resumer)
    assert code == 0, output
    # Not step 4 run again as if it had not failed: the retry was asked, the flow reverted
    # (step 3, cut off, has nothing to revert) and ran again.
    assert _reverts(workdir) == ["step4", "step2", "step1"]
    again = _executions(workdir)[4:]
    assert (
        again[:2] == ["step1", "step2"]
        and sorted(again[2:4]) == ["step3", "step4"]
        and again[4:] == ["step5"]
    )
    assert json.loads((workdir / "result.json").read_text())["x5"] == 112

    final = opened(url).get_connection().get_flow_details(flow_uuid)
    assert final.state == states.SUCCESS
    assert [sorted(failures) for _, failures in final.find_by_name("again").results] == [["step4"], []]


class _Step(Task):
    """The child's step, for an engine in this process on the same flow detail."""

    def __init__(self, index: int) -> None:
        super().__init__(f"step{index}", provides=f"x{index}", rebind={"x": f"x{index - 1}"})
        self.index = index

    def execute(self, x: int) -> Any:
        return x + self.index


@pytest.mark.parametrize("kind", ["dir", "sqlite"])
def test_engine_refuses_a_flow_detail_another_process_is_running(kind, request, tmp_path, opened):
    url = backend_url_for(kind, request, tmp_path)
    opened(url).get_connection().upgrade()
    workdir = tmp_path / "work"
    workdir.mkdir()
    child = _spawn("hold", "threading", url, workdir)
    try:
        _wait_for(workdir / "marker", child)
        flow_uuid = (workdir / "flow_uuid").read_text()
        child_owner = (workdir / "owner").read_text()
        assert f":{child.pid}:" in child_owner
        backend = opened(url)
        detail = backend.get_connection().get_flow_details(flow_uuid)
        flow = LinearFlow("crashy").add(*(_Step(i) for i in range(1, 6)))
        engine = greenflow.load(flow, flow_detail=detail, backend=backend)
        with pytest.raises(EngineStateError) as info:
            engine.run()
        message = str(info.value)
        assert "'crashy'" in message and flow_uuid in message and child_owner in message
    finally:
        (workdir / "release").write_text("go")
        code, output = _finish(child)
    assert code == 0, output
    assert _executions(workdir) == ["step1", "step2", "step3", "step4", "step5"]

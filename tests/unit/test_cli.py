"""The ``greenflow`` command: each subcommand's output and its errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from greenflow import LinearFlow, Task, Times, load
from greenflow.cli import main

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = shutil.which("greenflow", path=str(Path(sys.executable).parent)) or shutil.which("greenflow")


class Greet(Task):
    def execute(self, name: str) -> str:
        return f"hello {name}"


class Fail(Task):
    def execute(self) -> None:
        raise ValueError("no luck")


def greeting_flow() -> LinearFlow:
    """A module-level factory the CLI can import."""
    return LinearFlow("greeting").add(Greet(provides="greeting"))


def greenflow_command(
    *args: str, cwd: Path, timeout: float = 120, **env_vars: str
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``greenflow`` entry point in a subprocess (never patching this process)."""
    assert ENTRY_POINT is not None, "the greenflow entry point is not installed here (pip install -e .)"
    env = dict(os.environ)
    env.pop("GREENFLOW_HUB", None)
    env.update(env_vars)
    return subprocess.run(
        [ENTRY_POINT, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd
    )


def summary(stdout: str) -> dict[str, str]:
    """The demo's summary table as ``{label: value}``."""
    rows: dict[str, str] = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃|").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


def test_demo_runs_on_gevent_in_one_os_thread_records_every_workflow_and_writes_a_timeline(tmp_path):
    proc = greenflow_command("demo", "--workflows", "120", "--latency-ms", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = summary(proc.stdout)
    assert rows["workflows"] == "120"
    assert rows["hub"].startswith("gevent")
    assert rows["OS threads"] == "1 (ran the tasks of all workflows)"
    # SQLite's group commits run on helper threads (the hub's offload pool, at most 10 under gevent):
    # the hub never waits on the file. A thread per workflow would be 120.
    assert 1 <= int(rows["process threads"].split()[0]) <= 11, rows["process threads"]
    counts = {state: int(rows[state].replace(",", "")) for state in ("SUCCESS", "REVERTED", "FAILURE")}
    assert sum(counts.values()) == 120 and counts["FAILURE"] == 0 and counts["REVERTED"] > 0
    assert rows["hosts released by reverts"] == str(counts["REVERTED"])
    for label in ("workflows/s", "workflow latency p50", "workflow latency p99", "peak RSS"):
        assert rows[label][0].isdigit(), (label, rows[label])
    # Not a terminal: progress comes as plain lines, the last one at 100%.
    assert "demo: 120/120 workflows done (100%)" in proc.stdout
    assert rows["recorded in"] == "sqlite:///greenflow-demo.db"
    assert rows["timeline"] == "greenflow-demo-timeline.html"
    page = (tmp_path / "greenflow-demo-timeline.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "120 flows" in page

    listed = greenflow_command("history", "sqlite:///greenflow-demo.db", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    flows = json.loads(listed.stdout)
    assert len(flows) == 120
    assert {f["state"] for f in flows} == {"SUCCESS", "REVERTED"}
    assert all(f["started"] and f["seconds"] > 0 for f in flows)

    # A second run starts the demo's own file afresh.
    again = greenflow_command("demo", "--workflows", "20", "--latency-ms", "0", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    listed = greenflow_command("history", "sqlite:///greenflow-demo.db", "--json", cwd=tmp_path)
    assert len(json.loads(listed.stdout)) == 20


@pytest.mark.parametrize("hub", ["threading", "eventlet"])
def test_demo_runs_on_the_hub_asked_for_into_the_backend_named(tmp_path, hub):
    url = f"sqlite:///{tmp_path}/runs.db"
    proc = greenflow_command(
        "demo", "--hub", hub, "--workflows", "40", "--latency-ms", "0", "--backend", url, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    rows = summary(proc.stdout)
    assert rows["hub"].startswith(hub)
    assert rows["recorded in"] == url
    assert not (tmp_path / "greenflow-demo.db").exists()
    listed = greenflow_command("history", url, "--json", cwd=tmp_path)
    assert len(json.loads(listed.stdout)) == 40


def test_demo_hub_option_wins_over_the_environment(tmp_path):
    proc = greenflow_command(
        "demo", "--workflows", "10", "--latency-ms", "0", cwd=tmp_path, GREENFLOW_HUB="threading"
    )
    assert proc.returncode == 0, proc.stderr
    assert summary(proc.stdout)["hub"].startswith("gevent")


def test_the_command_module_imports_no_engine_so_it_can_patch_first():
    code = (
        "import sys, json, greenflow.cli; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('gevent', 'eventlet', 'sqlalchemy', 'concurrent') or m.startswith(('greenflow.engines', "
        "'greenflow.executors', 'greenflow.persistence')))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_demo_refuses_a_batch_of_nothing(tmp_path):
    proc = greenflow_command("demo", "--workflows", "0", cwd=tmp_path)
    assert proc.returncode != 0
    assert "--workflows must be at least 1" in proc.stderr


def test_run_prints_the_flow_results_as_json(capsys):
    code = main(["run", f"{__name__}:greeting_flow", "--store", "name=world"])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert results["greeting"] == "hello world"


def test_run_reports_a_missing_requirement_naming_it(capsys):
    assert main(["run", f"{__name__}:greeting_flow"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("flow 'greeting' ended PENDING: MissingDependencyError")
    assert "requires 'name', which nothing provides or injects" in err


@pytest.mark.parametrize("spec", ["no_colon", "nosuchmodule_xyz:flow", f"{__name__}:missing"])
def test_run_refuses_a_factory_it_cannot_load(spec):
    with pytest.raises(SystemExit, match="greenflow: "):
        main(["run", spec])


def test_graph_lists_atoms_with_what_they_run_after(capsys):
    assert main(["graph", "greenflow.cli._demo:build_server_flow"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "task allocate"
    assert "task boot_server  after: boot_retry" in lines
    assert any(line.startswith("retry boot_retry  after: ") for line in lines)


@pytest.mark.parametrize("args", [["--dot"], ["--format", "dot"]])
def test_graph_dot_output_is_a_digraph(capsys, args):
    assert main(["graph", "greenflow.cli._demo:build_server_flow", *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "provision" {') and out.rstrip().endswith("}")
    assert 'label="boot_retry", shape=diamond' in out
    assert "->" in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graph_svg_is_drawn_by_graphviz(tmp_path):
    out = tmp_path / "flow.svg"
    proc = greenflow_command(
        "graph", "greenflow.cli._demo:build_server_flow", "--format", "svg", "-o", str(out), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    svg = out.read_text()
    assert "<svg" in svg and "boot_server" in svg and "notify" in svg


def test_graph_svg_without_graphviz_says_what_to_install(tmp_path):
    env_path = str(Path(sys.executable).parent)  # the entry point, but no dot
    proc = subprocess.run(
        [ENTRY_POINT, "graph", "greenflow.cli._demo:build_server_flow", "--format", "svg"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PATH=env_path),
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "needs Graphviz's 'dot' program" in proc.stderr and "--format dot" in proc.stderr


class Flaky(Task):
    """Fails its first ``times`` executions in this process."""

    def __init__(self, name: str, times: int) -> None:
        super().__init__(name)
        self.left = times

    def execute(self) -> str:
        if self.left:
            self.left -= 1
            raise ConnectionError(f"{self.name} lost its connection")
        return "up"


class Undo(Task):
    def execute(self) -> str:
        return "made"

    def revert(self, result: str, **kwargs: object) -> str:
        return f"undid {result}"


@pytest.fixture
def recorded(tmp_path):
    """A SQLite store holding a success, a run saved by a retry, and a reverted run."""
    url = f"sqlite:///{tmp_path}/history.db"
    kept = load(LinearFlow("kept").add(Greet(provides="greeting")), store={"name": "x"}, backend=url)
    kept.run()
    retried = load(LinearFlow("retried", retry=Times(3, name="again")).add(Flaky("flaky", 1)), backend=url)
    retried.run()
    broken = load(LinearFlow("broken").add(Undo("undo"), Fail("boom")), backend=url)
    with pytest.raises(ValueError):
        broken.run()
    uuids = {e.storage.flow_name: e.storage.flow_uuid for e in (kept, retried, broken)}
    return url, uuids


def command_output(*args: str, cwd: Path) -> str:
    """What the ``greenflow`` entry point printed; it must exit 0."""
    proc = greenflow_command(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_history_is_a_table_of_flows_oldest_first(recorded, tmp_path):
    url, uuids = recorded
    lines = command_output("history", url, cwd=tmp_path).splitlines()
    assert lines[0].split() == ["flow", "uuid", "state", "started", "(UTC)", "duration", "failure"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("kept", uuids["kept"], "SUCCESS"),
        ("retried", uuids["retried"], "SUCCESS"),
        ("broken", uuids["broken"], "REVERTED"),
    ]
    assert lines[3].endswith("retried after ConnectionError: flaky lost its connection")
    assert lines[4].endswith("ValueError: no luck")
    assert all(r[6] == "ms" and float(r[5]) >= 0 for r in rows), "started: date and time; duration in ms"


def test_history_filters_and_json(recorded, capsys):
    url, uuids = recorded
    assert main(["history", url, "--state", "success", "--json"]) == 0
    flows = json.loads(capsys.readouterr().out)
    assert [f["flow"] for f in flows] == ["kept", "retried"]
    assert flows[0]["failure"] is None and flows[0]["seconds"] >= 0
    assert flows[0]["started"].endswith("+00:00")
    assert main(["history", url, "--flow", uuids["broken"], "--json", "--atoms"]) == 0
    (broken,) = json.loads(capsys.readouterr().out)
    assert broken["failure"] == "ValueError: no luck"
    assert [(a["name"], a["state"]) for a in broken["atoms"]] == [("undo", "REVERTED"), ("boom", "REVERTED")]
    assert main(["history", url, "--atoms", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "task boom: REVERTED (intention REVERT) - no luck" in out and "kept" not in out


def test_history_of_an_empty_store_says_so(tmp_path, capsys):
    assert main(["history", f"sqlite:///{tmp_path}/empty.db"]) == 0
    assert capsys.readouterr().out.strip() == "no matching flows"


def test_show_gives_each_atom_with_results_failures_tracebacks_retries_and_reverts(recorded, tmp_path):
    url, uuids = recorded
    out = command_output("show", url, uuids["broken"], cwd=tmp_path)
    assert out.startswith(f"flow broken {uuids['broken']}: REVERTED\n")
    assert "atom undo (task): REVERTED" in out
    assert 'result: "made"' in out and 'revert result: "undid made"' in out
    assert "failure: ValueError: no luck" in out
    assert "Traceback (most recent call last):" in out and "raise ValueError" in out
    out = command_output("show", url, uuids["retried"], cwd=tmp_path)
    assert "atom flaky (task): SUCCESS" in out
    assert "executions: 2 (run again 1 time by a retry)" in out
    assert "attempt 1: provided 1" in out
    assert "failed flaky: ConnectionError: flaky lost its connection" in out


def test_show_of_an_unknown_flow_names_it(recorded, capsys):
    url, _ = recorded
    assert main(["show", url, "no-such-uuid"]) == 2
    assert "holds no flow detail with uuid no-such-uuid" in capsys.readouterr().err


def test_timeline_writes_a_page_of_the_flows_named(recorded, tmp_path):
    url, uuids = recorded
    out = command_output("timeline", url, uuids["retried"], uuids["broken"], "-o", "run.html", cwd=tmp_path)
    assert out.strip() == "wrote run.html: 2 flows, 2 charted"
    page = tmp_path / "run.html"
    text = page.read_text()
    assert text.count('class="atom-row"') == 2 + 2, "one row per atom of the two flows"
    assert "kept" not in text
    assert 'class="bar bar-failure"' in text and 'class="bar bar-retry"' in text
    assert 'class="bar bar-revert"' in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', ""), "nothing fetched"


def test_db_upgrade_then_check_a_sqlite_database(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/db.sqlite"
    assert main(["db", "upgrade", url]) == 0
    assert "schema is current" in capsys.readouterr().out
    assert main(["db", "check", url]) == 0
    assert "reachable, schema is current" in capsys.readouterr().out


def test_version_prints_the_package_version(capsys):
    import greenflow

    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == greenflow.__version__


def test_history_skips_a_corrupt_record_saying_which_and_lists_the_others(recorded, capsys):
    import sqlite3

    url, uuids = recorded
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE atomdetails SET results = '{not json' WHERE name = 'flaky'")
    assert main(["history", url, "--json"]) == 0
    captured = capsys.readouterr()
    assert [f["flow"] for f in json.loads(captured.out)] == ["kept", "broken"]
    assert uuids["retried"] in captured.err and "skipped" in captured.err

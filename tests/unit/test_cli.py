"""The ``greenflow`` command: each subcommand's output and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from greenflow import LinearFlow, Task, load
from greenflow.cli import main

ROOT = Path(__file__).resolve().parents[2]


class Greet(Task):
    def execute(self, name: str) -> str:
        return f"hello {name}"


class Fail(Task):
    def execute(self) -> None:
        raise ValueError("no luck")


def greeting_flow() -> LinearFlow:
    """A module-level factory the CLI can import."""
    return LinearFlow("greeting").add(Greet(provides="greeting"))


def test_demo_runs_the_batch_and_prints_outcomes_that_add_up(capsys):
    assert main(["demo", "--workflows", "60", "--latency-ms", "0", "--concurrency", "20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ran 60 provisioning workflows in ")
    assert "hub threading, up to 20 at once" in out
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in out.splitlines()
        if line.strip().split(" ")[0] in ("SUCCESS", "REVERTED", "FAILURE")
    }
    assert sum(counts.values()) == 60
    assert counts["FAILURE"] == 0
    # Every reverted provisioning released its host.
    assert f"hosts released by reverts {counts['REVERTED']}" in out


def test_demo_refuses_a_batch_of_nothing():
    with pytest.raises(SystemExit, match="--workflows must be at least 1"):
        main(["demo", "--workflows", "0"])


def test_demo_on_gevent_runs_in_its_own_patched_process():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("GREENFLOW_HUB", None)
    proc = subprocess.run(
        [sys.executable, "-m", "greenflow.cli", "demo", "--hub", "gevent", "--workflows", "50"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "hub gevent" in proc.stdout
    assert "1 OS threads at the end" in proc.stdout


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


def test_graph_dot_output_is_a_digraph(capsys):
    assert main(["graph", "greenflow.cli._demo:build_server_flow", "--dot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "provision-0" {') and out.rstrip().endswith("}")
    assert "->" in out


def test_history_lists_flows_and_atoms_from_a_backend(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/history.db"
    load(LinearFlow("kept").add(Greet(provides="greeting")), store={"name": "x"}, backend=url).run()
    engine = load(LinearFlow("broken").add(Fail("boom")), backend=url)
    with pytest.raises(ValueError):
        engine.run()
    assert main(["history", url, "--atoms"]) == 0
    out = capsys.readouterr().out
    assert ": SUCCESS (1/1 atoms SUCCESS)" in out
    assert "flow broken" in out and ": REVERTED" in out
    assert "task boom: REVERTED (intention REVERT) - no luck" in out
    assert main(["history", url, "--state", "success"]) == 0
    out = capsys.readouterr().out
    assert "flow kept" in out and "flow broken" not in out


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

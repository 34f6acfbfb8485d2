"""``benchmarks/bench_persistence.py --quick`` runs and prints well-formed measurements.

Only the keys and the correctness of every run are checked, never the
timings. The PostgreSQL parts are checked when the server is reachable and
skipped, with the benchmark's reason, when it is not.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_persistence.py"

_PERSISTED_KEYS = {"bench", "impl", "backend", "tasks", "load_s", "run_s", "atoms_per_s", "state"}
_MANY_KEYS = {
    "bench",
    "impl",
    "backend",
    "engines",
    "atoms",
    "succeeded",
    "load_s",
    "run_s",
    "atoms_per_s",
    "max_stall_ms",
}

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("sqlalchemy") is None, reason="needs SQLAlchemy (pip install greenflow[sql])"
    ),
    pytest.mark.timeout(300),
]


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--taskflow-tasks", "10"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert "| measurement |" in proc.stdout
    return [json.loads(line) for line in lines]


def _find(records: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [r for r in records if all(r.get(k) == v for k, v in match.items())]


def test_sqlite_measurements_have_every_key_and_succeed(records):
    (gf,) = _find(records, bench="persisted_atoms", impl="greenflow", backend="sqlite")
    assert gf.keys() >= _PERSISTED_KEYS
    assert gf["state"] == "SUCCESS"
    assert gf["recorded_success"] == gf["tasks"]
    (tf,) = _find(records, bench="persisted_atoms", impl="taskflow", backend="sqlite")
    if "skipped" not in tf:
        assert tf.keys() >= _PERSISTED_KEYS
        assert tf["state"] == "SUCCESS"
        (ratio,) = _find(records, bench="ratio", backend="sqlite")
        assert {"tasks", "taskflow_tasks", "ratio"} <= ratio.keys()


def test_postgresql_measurements_have_every_key_and_succeed(records):
    skipped = _find(records, backend="postgresql", bench="persisted_atoms")
    if skipped and "skipped" in skipped[0] and "impl" not in skipped[0]:
        pytest.skip(skipped[0]["skipped"])
    (gf,) = _find(records, bench="persisted_atoms", impl="greenflow", backend="postgresql")
    assert gf.keys() >= _PERSISTED_KEYS
    assert gf["recorded_success"] == gf["tasks"]
    (many,) = _find(records, bench="many_engines")
    assert "error" not in many, many.get("error")
    if importlib.util.find_spec("gevent") is None:
        return
    assert many.keys() >= _MANY_KEYS
    assert many["succeeded"] == many["engines"]

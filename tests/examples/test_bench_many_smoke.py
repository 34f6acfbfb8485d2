"""Smoke test of benchmarks/bench_many.py --quick: valid records and a report, never timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_many_quick_prints_records_and_a_report() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("GREENFLOW_HUB", None)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_many.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    parts = {r["part"] for r in records}
    assert {"bare_loop", "per_task", "tiny_engines", "concurrent"} <= parts
    assert {r["engine"] for r in records if r["part"] == "per_task"} == {"serial", "parallel"}
    concurrent = [r for r in records if r["part"] == "concurrent"]
    assert {r["impl"] for r in concurrent} >= {"greenflow-gevent-many", "bare-gevent", "greenflow-threading"}
    assert all(r["ok"] and r["correct"] == r["n"] for r in concurrent)
    assert all(r["peak_os_threads"] == 1 for r in concurrent if r["impl"] != "greenflow-threading")
    assert "| target | measured | result |" in proc.stdout

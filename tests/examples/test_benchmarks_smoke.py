"""``benchmarks/bench_core.py --quick`` runs and prints well-formed measurements.

Only the shape of the output is checked, never the timings: those depend on
the machine and are read by people, not by tests.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from conftest import run_benchmark

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_core.py"

_KEYS = {
    "per_task": {"per_task_us", "run_only_per_task_us"},
    "per_task_flatness": {"ratio"},
    "tiny_engines": {"per_engine_us"},
    "tiny_engines_shared_flow": {"per_engine_us"},
}


def _run_quick() -> tuple[list[dict[str, Any]], list[str]]:
    return run_benchmark("bench_core.py", "--quick", timeout=300)


def test_quick_benchmark_prints_json_measurements_then_a_report() -> None:
    records, rest = _run_quick()
    assert records, "no JSON lines printed"
    for record in records:
        assert {"bench", "impl", "n"} <= record.keys(), record
        assert record["impl"] in ("greenflow", "taskflow"), record
        if "skipped" in record:
            assert isinstance(record["skipped"], str) and record["skipped"], record
            continue
        expected = _KEYS.get(record["bench"])
        assert expected is not None, f"unknown bench {record['bench']!r}"
        assert expected <= record.keys(), f"{record['bench']} lacks {expected - record.keys()}: {record}"
        for key in expected:
            assert isinstance(record[key], (int, float)) and record[key] > 0, record

    greenflow_benches = {r["bench"] for r in records if r["impl"] == "greenflow"}
    assert greenflow_benches == set(_KEYS), greenflow_benches
    assert len([r for r in records if r["bench"] == "per_task" and r["impl"] == "greenflow"]) == 2

    taskflow = [r for r in records if r["impl"] == "taskflow"]
    if importlib.util.find_spec("taskflow") is not None:
        measured = {r["bench"] for r in taskflow if "skipped" not in r}
        assert measured == {"per_task", "tiny_engines"}, taskflow
    else:
        assert taskflow and all("skipped" in r for r in taskflow), taskflow

    report = "\n".join(rest)
    assert "| target | measured | result |" in report
    assert report.count("PASS") + report.count("MISS") == 5, report

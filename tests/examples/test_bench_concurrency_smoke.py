"""``benchmarks/bench_concurrency.py --quick`` runs and prints well-formed, correct measurements.

Only the shape of the output and the correctness of every run are checked,
never the timings: those depend on the machine and are read by people.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from conftest import run_benchmark

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_concurrency.py"

_KEYS = {
    "bench",
    "impl",
    "n",
    "wall_s",
    "ideal_s",
    "ratio_to_ideal",
    "engines_per_s",
    "peak_rss_mb",
    "rss_per_engine_kb",
    "peak_os_threads",
    "ok",
    "shared_flow",
}
_POSITIVE = ("wall_s", "ratio_to_ideal", "engines_per_s", "peak_rss_mb", "peak_os_threads")

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("gevent") is None, reason="needs gevent"),
    pytest.mark.timeout(300),
]


def _run_quick() -> tuple[list[dict[str, Any]], list[str]]:
    return run_benchmark("bench_concurrency.py", "--quick", timeout=240)


def test_quick_concurrency_benchmark_prints_correct_measurements_then_a_report() -> None:
    records, rest = _run_quick()
    assert records, "no JSON lines printed"
    for record in records:
        assert record["bench"] == "concurrent_engines", record
        if "skipped" in record:
            assert isinstance(record["skipped"], str) and record["skipped"], record
            continue
        assert record.keys() >= _KEYS, f"record lacks {_KEYS - record.keys()}: {record}"
        assert record["ok"] is True, f"not every engine succeeded with the right result: {record}"
        assert record["correct"] == record["n"] == 50, record
        assert record["ideal_s"] == 0.15, record
        assert isinstance(record["shared_flow"], bool), record
        for key in _POSITIVE:
            assert isinstance(record[key], (int, float)) and record[key] > 0, (key, record)
        assert record["rss_per_engine_kb"] >= 0, record

    gevent = [r for r in records if r["impl"] == "greenflow-gevent" and "skipped" not in r]
    gevent_runs = {r["shared_flow"] for r in gevent}
    assert gevent_runs == {True, False}, "greenflow-gevent must run with a shared flow and a flow per engine"
    threading_runs = [r for r in records if r["impl"] == "greenflow-threading"]
    assert len(threading_runs) == 2, threading_runs
    assert not any(r["impl"].startswith("taskflow") for r in records), "--quick must not run TaskFlow"

    report = "\n".join(rest)
    assert "| impl | flow | N |" in report
    assert "| target | measured | result |" in report

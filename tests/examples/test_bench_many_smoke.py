"""Smoke test of benchmarks/bench_many.py --quick: valid records and a report, never timings."""

from __future__ import annotations

import pytest
from conftest import run_benchmark


def test_bench_many_quick_prints_records_and_a_report() -> None:
    records, rest = run_benchmark("bench_many.py", "--quick", timeout=600)
    parts = {r["part"] for r in records}
    assert {"bare_loop", "per_task", "tiny_engines", "concurrent"} <= parts
    assert {r["engine"] for r in records if r["part"] == "per_task"} == {"serial", "parallel"}
    concurrent = [r for r in records if r["part"] == "concurrent"]
    assert {r["impl"] for r in concurrent} >= {"greenflow-gevent-many", "bare-gevent", "greenflow-threading"}
    assert all(r["ok"] and r["correct"] == r["n"] for r in concurrent)
    assert all(r["peak_os_threads"] == 1 for r in concurrent if r["impl"] != "greenflow-threading")
    assert "| target | measured | result |" in rest
    style = [r for r in records if r["part"] in ("tf_style", "stream")]
    assert {r["impl"] for r in style} == {
        "greenflow-gevent-tfstyle",
        "bare-gevent",
        "greenflow-gevent-stream",
        "bare-gevent-pool",
    }
    assert all(r["ok"] and r["correct"] == r["n"] for r in style)
    assert all(r["no_leak"] for r in style if r["part"] == "stream")
    assert any(line.startswith("## The TaskFlow style and a million-engine stream") for line in rest)


def test_style_target_missed_when_a_gevent_row_was_not_measured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_many

    row = {"ok": True, "wall_s": 1.0, "peak_rss_mb": 10.0, "n": 10}
    stream = {**row, "in_flight": 5, "rss_waves_mb": [10], "greenlets_before": 1, "greenlets_after": 1}
    stream |= {"fds_before": 3, "fds_after": 3, "no_leak": True}
    both = [
        {**row, "part": "tf_style", "impl": "greenflow-gevent-tfstyle"},
        {**row, "part": "tf_style", "impl": "bare-gevent"},
        {**stream, "part": "stream", "impl": "greenflow-gevent-stream"},
        {**stream, "part": "stream", "impl": "bare-gevent-pool"},
    ]
    assert bench_many.style_report(both) is True
    assert bench_many.style_report(both[2:]) is False  # no TaskFlow-style gevent row: not a PASS
    assert bench_many.style_report([]) is False
    assert "not measured: stream, tf_style" in capsys.readouterr().out

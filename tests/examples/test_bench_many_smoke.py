"""Smoke test of benchmarks/bench_many.py --quick: valid records and a report, never timings."""

from __future__ import annotations

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

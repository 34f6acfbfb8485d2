"""Smoke test of benchmarks/bench_group_commit.py --quick: valid records and a table, never timings."""

from __future__ import annotations

from conftest import run_benchmark


def test_bench_group_commit_quick_prints_records_and_a_table() -> None:
    records, rest = run_benchmark(
        "bench_group_commit.py", "--quick", "--backends", "memory,sqlite", timeout=300
    )
    runs = {(r["backend"], r["impl"]) for r in records}
    assert runs == {
        ("memory", "greenflow"),
        ("memory", "greenflow-quiet"),
        ("sqlite", "greenflow"),
        ("sqlite", "greenflow-quiet"),
        ("sqlite", "naive-floor"),
        ("sqlite", "batched-insert-limit"),
        ("sqlite", "taskflow"),
        ("sqlite", "ratio"),
    }
    # TaskFlow's row runs from its own virtual environment; without one it says why it did not.
    taskflow = next(r for r in records if r["impl"] == "taskflow")
    assert "virtual environment" in taskflow.get("skipped", "") or taskflow["engines_per_s"] > 0, taskflow
    assert all(r["succeeded"] == r["engines"] == 20 for r in records if r["impl"].startswith("greenflow"))
    greenflow = [r for r in records if r["impl"] == "greenflow"]
    assert all(
        r["max_stall_ms"] >= r["max_stall_outside_gc_ms"] and r["max_gc_pause_ms"] >= 0 for r in greenflow
    )
    sqlite = next(r for r in greenflow if r["backend"] == "sqlite")
    assert sqlite["writer"]["groups"] >= 20  # every engine went through the writer
    assert next(r for r in greenflow if r["backend"] == "memory")["writer"] is None
    assert any("longest GC pause ms" in line and "outside GC" in line for line in rest)


def test_bench_group_commit_quick_runs_on_eventlet_too() -> None:
    records, rest = run_benchmark(
        "bench_group_commit.py", "--quick", "--backends", "memory", "--hub", "eventlet", timeout=300
    )
    greenflow = [r for r in records if r["impl"].startswith("greenflow")]
    assert {r["impl"] for r in greenflow} == {"greenflow", "greenflow-quiet"}
    assert all(r["hub"] == "eventlet" and r["succeeded"] == r["engines"] == 20 for r in greenflow)
    assert any("greenflow (eventlet)" in line for line in rest)

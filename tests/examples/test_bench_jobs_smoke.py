"""``benchmarks/bench_jobs.py --quick`` runs and prints well-formed measurements (keys, never timings).

Skipped, with the benchmark's reason, when Redis cannot be reached.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.timeout(300)

_KEYS = {"bench", "impl", "conductor", "jobs", "seconds", "jobs_per_s", "peak_jobs", "steps", "task_sleep_ms"}


def test_every_conductor_runs_every_job(benchmark_output: Any) -> None:
    records, rest = benchmark_output("bench_jobs.py", "--quick", "--jobs", "20", "--taskflow-jobs", "5")
    if len(records) == 1 and "skipped" in records[0]:
        pytest.skip(records[0]["skipped"])
    assert any(line.startswith("| measurement |") for line in rest)
    by_name = {(r["impl"], r["conductor"]): r for r in records}
    for key in (("greenflow", "green"), ("greenflow", "nonblocking"), ("bare_gevent", "floor")):
        record = by_name[key]
        assert "error" not in record, record
        assert record.keys() >= _KEYS
    for key in (("greenflow", "green"), ("greenflow", "nonblocking")):
        assert by_name[key]["succeeded"] == by_name[key]["consumed"] == 20
    assert by_name[("greenflow", "green")]["os_threads"] >= 1
    taskflow = by_name[("taskflow", "nonblocking")]
    if "skipped" not in taskflow:
        assert "error" not in taskflow, taskflow
        assert taskflow["succeeded"] == 5

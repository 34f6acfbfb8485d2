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


def test_a_taskflow_python_given_that_is_not_there_is_an_error(tmp_path: Any) -> None:
    """Not a silent fall-back to another TaskFlow: the run stops, naming the path."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        import bench_jobs
    finally:
        sys.path.pop(0)
    missing = str(tmp_path / "no-such-python")
    with pytest.raises(SystemExit, match=r"no-such-python.*no such file"):
        bench_jobs.taskflow_python(missing)
    with pytest.raises(SystemExit, match="cannot run"):
        bench_jobs.taskflow_python(sys.executable, "import no_such_module_here")

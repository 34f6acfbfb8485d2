"""Shared by the benchmark smoke tests: run a benchmark script and split its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

BenchmarkRunner = Callable[..., tuple[list[dict[str, Any]], list[str]]]


def run_benchmark(script: str, *args: str, timeout: float = 300) -> tuple[list[dict[str, Any]], list[str]]:
    """Run ``benchmarks/<script> <args>``; return its JSON records and its other lines.

    Fails the test (showing both streams) if the script exits non-zero.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("GREENFLOW_HUB", None)  # each benchmark child patches for its own hub
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    command = " ".join((script, *args))
    assert proc.returncode == 0, (
        f"{command} exited with {proc.returncode}; stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    lines = proc.stdout.splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    rest = [line for line in lines if not line.startswith("{")]
    return records, rest


@pytest.fixture
def benchmark_output() -> BenchmarkRunner:
    """``benchmark_output('bench_core.py', '--quick')`` -> ``(records, other lines)``."""
    return run_benchmark

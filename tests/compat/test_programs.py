"""TaskFlow-style programs run through ``compat/`` print exactly what real TaskFlow prints.

Each program in ``programs/`` imports only ``taskflow...``; its expected
output (``programs/expected/<name>.txt``) was produced by running it against
OpenStack TaskFlow, except where the README's "Differences" section says
otherwise. Every program runs in a fresh interpreter under the default hub
and under eventlet (monkey patched first, by ``run_program.py``), with
``PYTHONPATH=<repo>/compat:<repo>`` so ``taskflow`` is the adapter, never an
installed TaskFlow. A program marked ``# compat-hubs: eventlet`` runs only there.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
COMPAT = ROOT / "compat"
PROGRAMS = HERE / "programs"
EXPECTED = PROGRAMS / "expected"
RUNNER = HERE / "run_program.py"
SCRIPTS = sorted(PROGRAMS.glob("*.py"))
HUBS = ("default", "eventlet")
_ONLY_HUBS = re.compile(r"^# compat-hubs: (.+)$", re.MULTILINE)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(COMPAT), str(ROOT)])
    env.pop("GREENFLOW_HUB", None)
    env.pop("GREENFLOW_CONFIG", None)
    env["PYTHONHASHSEED"] = "0"
    return env


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
    )


def _hubs_of(script: Path) -> tuple[str, ...]:
    found = _ONLY_HUBS.findall(script.read_text(encoding="utf-8"))
    return tuple(h.strip() for line in found for h in line.split(",")) or HUBS


def test_taskflow_is_imported_from_compat() -> None:
    proc = _run("-c", "import taskflow; print(taskflow.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve().is_relative_to(COMPAT), proc.stdout


def test_there_are_enough_programs_each_with_an_expected_output() -> None:
    assert len(SCRIPTS) >= 25, [s.name for s in SCRIPTS]
    missing = [s.name for s in SCRIPTS if not (EXPECTED / f"{s.stem}.txt").is_file()]
    orphans = [p.name for p in EXPECTED.glob("*.txt") if not (PROGRAMS / f"{p.stem}.py").is_file()]
    assert not missing and not orphans, (missing, orphans)


@pytest.mark.parametrize("hub", HUBS)
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_program_prints_what_taskflow_prints(script: Path, hub: str) -> None:
    if hub not in _hubs_of(script):
        pytest.skip(f"{script.name} runs only under {_hubs_of(script)}")
    if hub == "eventlet" and importlib.util.find_spec("eventlet") is None:
        pytest.skip("eventlet is not installed")
    proc = _run(str(RUNNER), hub, str(script))
    assert proc.returncode == 0, f"{script.name} under {hub} exited with {proc.returncode}:\n{proc.stderr}"
    expected = (EXPECTED / f"{script.stem}.txt").read_text(encoding="utf-8")
    assert proc.stdout == expected, f"{script.name} under {hub}; stderr:\n{proc.stderr}"

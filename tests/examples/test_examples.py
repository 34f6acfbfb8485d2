"""Every script in ``examples/`` runs and prints exactly its expected output.

Each example is run as a user would run it (a fresh interpreter, the repo
root as working directory) and its stdout is compared with
``examples/expected/<name>.txt``. An example that needs an optional library
says so with a ``# example-requires: <module>`` line and is skipped when the
library is missing.

After changing an example on purpose, regenerate its expected output with
``python examples/<name>.py > examples/expected/<name>.txt``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EXPECTED = EXAMPLES / "expected"
_REQUIRES = re.compile(r"^# example-requires: (.+)$", re.MULTILINE)

SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    # Examples must not depend on the developer's hub configuration.
    env.pop("GREENFLOW_HUB", None)
    env.pop("GREENFLOW_CONFIG", None)
    env["PYTHONHASHSEED"] = "0"
    return env


def _missing_requirements(script: Path) -> list[str]:
    found = _REQUIRES.findall(script.read_text(encoding="utf-8"))
    modules = [m.strip() for line in found for m in line.split(",")]
    return [m for m in modules if importlib.util.find_spec(m) is None]


def test_examples_exist() -> None:
    assert len(SCRIPTS) >= 6, f"expected at least 6 examples in {EXAMPLES}, found {[s.name for s in SCRIPTS]}"


def test_every_example_has_expected_output() -> None:
    missing = [s.name for s in SCRIPTS if not (EXPECTED / f"{s.stem}.txt").is_file()]
    assert not missing, f"examples without an expected output file in {EXPECTED}: {missing}"


def test_every_expected_output_has_an_example() -> None:
    orphans = [p.name for p in sorted(EXPECTED.glob("*.txt")) if not (EXAMPLES / f"{p.stem}.py").is_file()]
    assert not orphans, f"expected outputs whose example is gone: {orphans}"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_prints_expected_output(script: Path) -> None:
    expected_file = EXPECTED / f"{script.stem}.txt"
    if not expected_file.is_file():
        pytest.fail(f"{script.name} has no expected output file {expected_file}")
    missing = _missing_requirements(script)
    if missing:
        pytest.skip(f"{script.name} needs {', '.join(missing)}, which is not installed")
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{script.name} exited with {proc.returncode}; stderr:\n{proc.stderr}"
    assert proc.stdout == expected_file.read_text(encoding="utf-8"), (
        f"{script.name} printed something else than {expected_file.name}; stderr:\n{proc.stderr}"
    )

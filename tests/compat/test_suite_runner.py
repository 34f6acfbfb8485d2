"""The runner of TaskFlow's own suite (``tests/taskflow_suite/run.py``), on a small fake wheel tree."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUN_PY = Path(__file__).resolve().parents[1] / "taskflow_suite" / "run.py"


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("taskflow_suite_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_an_example_imports_taskflows_test_helpers_from_the_overlay(
    runner: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # wrapped_exception and wbe_simple_linear do `from taskflow.tests import utils`.
    _write(tmp_path / "overlay" / "taskflow" / "tests" / "__init__.py", "")
    _write(tmp_path / "overlay" / "taskflow" / "tests" / "utils.py", "MARK = 'from the overlay'\n")
    examples = tmp_path / "run" / "examples"
    _write(examples / "uses_helpers.py", "from taskflow.tests import utils\nprint(utils.MARK)\n")
    _write(examples / "uses_helpers.out.txt", "from the overlay\n")
    assert runner.run_examples(tmp_path, ["uses_helpers"], True) == (1, 0), capsys.readouterr().out


def test_each_scenario_of_a_test_with_scenarios_is_run_and_counted_as_a_test(
    runner: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # TaskFlow's test_dir_persistence (5 scenarios) and test_conductors (3) are written so;
    # TaskFlow's own runner counts one test per scenario.
    unit = tmp_path / "overlay" / "taskflow" / "tests" / "unit"
    _write(tmp_path / "overlay" / "taskflow" / "tests" / "__init__.py", "")
    _write(unit / "__init__.py", "")
    _write(
        unit / "test_fake.py",
        "import unittest\n"
        "import testscenarios\n\n"
        "class T(testscenarios.TestWithScenarios, unittest.TestCase):\n"
        "    scenarios = [('a', {'size': 1}), ('b', {'size': 2}), ('c', {'size': 3})]\n\n"
        "    def test_size(self):\n"
        "        self.assertIn(self.size, (1, 2, 3))\n\n"
        "    def test_not_three(self):\n"
        "        self.assertNotEqual(self.size, 3)\n\n"
        "class Plain(unittest.TestCase):\n"
        "    def test_plain(self):\n"
        "        pass\n",
    )
    assert runner.run_unit(tmp_path, ["test_fake"], 1, 1) == (6, 1)
    out = capsys.readouterr().out
    assert "test_fake: 6 passed, 1 failed, 0 skipped" in out
    assert "failed: taskflow.tests.unit.test_fake.T.test_not_three(c)" in out

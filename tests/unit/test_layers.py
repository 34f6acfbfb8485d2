"""The layers of DESIGN.md, enforced: no module of greenflow imports a layer above its own.

Every ``import`` and ``from ... import`` in every module is read with ``ast``
(function-local imports and ``TYPE_CHECKING`` blocks included: an upward
import is a dependency wherever it is written). A module may import its own
layer and the layers below it, never one above. ``greenflow/__init__.py``
(the public facade that re-exports every layer, lazily) is the one exception.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import greenflow

#: Bottom to top, as in DESIGN.md; the packages of one entry are one layer (they may import each other).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("exceptions",),
    ("hubs",),
    ("failure", "notifier", "states", "masking"),
    ("atoms",),
    ("patterns",),
    ("executors",),
    ("compiler",),
    ("persistence",),
    ("storage",),
    ("engines",),
    ("listeners",),
    ("workers",),
    ("jobs",),
    ("conductors",),
    ("cli",),
)

_LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}
_ROOT = Path(greenflow.__file__).resolve().parent


def _layer_of(module: str) -> str | None:
    """``'engines'`` for ``greenflow.engines._engine``; ``None`` for a module outside greenflow."""
    parts = module.split(".")
    if parts[0] != "greenflow" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every import in ``path`` (relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "greenflow":  # ``from greenflow import states``: the names are modules
                found.extend((node.lineno, f"greenflow.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, target))
    return found


def _modules() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(_ROOT.rglob("*.py")):
        rel = path.relative_to(_ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append((path, ".".join(parts)))
    return out


def test_every_package_of_greenflow_has_a_declared_layer():
    undeclared = sorted(
        {layer for _, module in _modules() if (layer := _layer_of(module)) is not None} - set(_LEVEL)
    )
    assert undeclared == [], f"add these to LAYERS (and DESIGN.md) at their level: {undeclared}"


def test_no_module_imports_a_layer_above_its_own():
    upward: list[str] = []
    for path, module in _modules():
        layer = _layer_of(module)
        if layer is None:  # greenflow/__init__.py: the facade over every layer
            continue
        for line, imported in _imports(path, module):
            target = _layer_of(imported)
            if target is None or target not in _LEVEL or target == layer:
                continue
            if _LEVEL[target] > _LEVEL[layer]:
                rel = path.relative_to(_ROOT.parent)
                upward.append(f"{rel}:{line} ({layer}) imports {imported} ({target})")
    assert upward == [], "upward imports:\n" + "\n".join(upward)


def test_exceptions_is_a_leaf():
    path = _ROOT / "exceptions.py"
    inside = [
        imported for _, imported in _imports(path, "greenflow.exceptions") if imported.startswith("greenflow")
    ]
    assert inside == []


def test_only_the_hubs_import_eventlet_or_gevent():
    offenders = [
        f"{path.relative_to(_ROOT.parent)}:{line} imports {imported}"
        for path, module in _modules()
        if _layer_of(module) != "hubs"
        for line, imported in _imports(path, module)
        if imported.split(".")[0] in ("eventlet", "gevent")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from greenflow.engines import load\n", "greenflow.engines"),
        ("def f():\n    from greenflow.cli import main\n", "greenflow.cli"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import greenflow.jobs\n",
            "greenflow.jobs",
        ),
        ("from .. import engines\n", "greenflow.engines"),
        ("from greenflow import storage\n", "greenflow.storage"),
    ],
)
def test_every_form_of_import_is_seen(tmp_path, source, expected):
    path = tmp_path / "mod.py"
    path.write_text(source)
    assert expected in [imported for _, imported in _imports(path, "greenflow.atoms.mod")]

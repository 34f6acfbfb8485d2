"""greenflow: TaskFlow's programming model on an engine built for green threads.

Layers, each importing only those below it (DESIGN.md; tests/unit/test_layers.py
enforces it), top to bottom: cli -> conductors -> jobs -> workers -> listeners
-> engines (the sans-IO runtime and the loop that waits) -> storage (the
runtime's recorder) -> persistence -> compiler (flow to immutable graph) ->
executors (one Starter per kind) -> patterns -> atoms (and invoke_atom) ->
failure, notifier, states, masking -> hubs (the bottom: gevent, eventlet or
threading) -> exceptions (imports nothing).

The names below are loaded on first use, so ``import greenflow.hubs`` and
``greenflow.hubs.patch(...)`` at the top of a program run before the engine
(and ``threading``/``concurrent.futures`` users) is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenflow import states
    from greenflow.atoms import (
        AlwaysRevert,
        AlwaysRevertAll,
        Decision,
        ForEach,
        FunctorTask,
        MapFunctorTask,
        ParameterizedForEach,
        ReduceFunctorTask,
        Retry,
        Task,
        Times,
    )
    from greenflow.engines import load, load_from_factory, run, run_many
    from greenflow.failure import Failure
    from greenflow.patterns import GraphFlow, LinearFlow, UnorderedFlow

__version__ = "0.1.0"

_LAZY = {
    "states": ("greenflow.states", None),
    "AlwaysRevert": ("greenflow.atoms", "AlwaysRevert"),
    "AlwaysRevertAll": ("greenflow.atoms", "AlwaysRevertAll"),
    "Decision": ("greenflow.atoms", "Decision"),
    "ForEach": ("greenflow.atoms", "ForEach"),
    "FunctorTask": ("greenflow.atoms", "FunctorTask"),
    "MapFunctorTask": ("greenflow.atoms", "MapFunctorTask"),
    "ParameterizedForEach": ("greenflow.atoms", "ParameterizedForEach"),
    "ReduceFunctorTask": ("greenflow.atoms", "ReduceFunctorTask"),
    "Retry": ("greenflow.atoms", "Retry"),
    "Task": ("greenflow.atoms", "Task"),
    "Times": ("greenflow.atoms", "Times"),
    "load": ("greenflow.engines", "load"),
    "load_from_factory": ("greenflow.engines", "load_from_factory"),
    "run": ("greenflow.engines", "run"),
    "run_many": ("greenflow.engines", "run_many"),
    "Failure": ("greenflow.failure", "Failure"),
    "GraphFlow": ("greenflow.patterns", "GraphFlow"),
    "LinearFlow": ("greenflow.patterns", "LinearFlow"),
    "UnorderedFlow": ("greenflow.patterns", "UnorderedFlow"),
}

__all__ = [
    "AlwaysRevert",
    "AlwaysRevertAll",
    "Decision",
    "Failure",
    "ForEach",
    "FunctorTask",
    "GraphFlow",
    "LinearFlow",
    "MapFunctorTask",
    "ParameterizedForEach",
    "ReduceFunctorTask",
    "Retry",
    "Task",
    "Times",
    "UnorderedFlow",
    "load",
    "load_from_factory",
    "run",
    "run_many",
    "states",
]


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'greenflow' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

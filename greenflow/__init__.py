"""greenflow: TaskFlow's programming model on an engine built for green threads.

Layers, each importing only those below it (see DESIGN.md):
atoms and patterns (what users write) -> compiler (flow to immutable graph)
-> engines (sans-IO runtime + the loop that waits) -> executors -> hubs;
storage and persistence record every transition; listeners observe.
"""

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
from greenflow.engines import load, load_from_factory, run
from greenflow.failure import Failure
from greenflow.patterns import GraphFlow, LinearFlow, UnorderedFlow

__version__ = "0.1.0"

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
    "__version__",
    "load",
    "load_from_factory",
    "run",
    "states",
]

"""Engines: load a flow, run it, resume it.

``load()`` returns an ``Engine``; ``run()`` loads and runs in one call.
The engine's sans-IO ``Runtime`` lives in ``_runtime``; options in ``_options``.
"""

from greenflow.atoms import invoke_atom  # re-exported where it used to live (it moved to atoms)
from greenflow.engines._engine import ANALYZING, SCHEDULING, WAITING, Engine, EngineStatistics
from greenflow.engines._helpers import (
    FACTORY_PREFIXES_ENV,
    allow_factories,
    factory_name,
    flow_from_detail,
    load,
    load_from_detail,
    load_from_factory,
    run,
    save_factory_details,
)
from greenflow.engines._many import ManyRunner, Outcome, RunSummary, deferred_full_gc, run_many
from greenflow.engines._options import ENGINE_KINDS, EngineOptions

__all__ = [
    "ANALYZING",
    "ENGINE_KINDS",
    "FACTORY_PREFIXES_ENV",
    "SCHEDULING",
    "WAITING",
    "Engine",
    "EngineOptions",
    "EngineStatistics",
    "ManyRunner",
    "Outcome",
    "RunSummary",
    "allow_factories",
    "deferred_full_gc",
    "factory_name",
    "flow_from_detail",
    "invoke_atom",
    "load",
    "load_from_detail",
    "load_from_factory",
    "run",
    "run_many",
    "save_factory_details",
]

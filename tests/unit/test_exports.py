"""What each public module exports is exactly what is meant to be public.

The expected sets are written out here on purpose: a name appears in, or
disappears from, the public API only by changing this file too.
"""

from __future__ import annotations

import importlib

import pytest

EXPECTED_EXPORTS: dict[str, list[str]] = {
    "greenflow": [
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
    ],
    "greenflow.atoms": [
        "Action",
        "ActionKind",
        "AlwaysRevert",
        "AlwaysRevertAll",
        "Atom",
        "AtomOutcome",
        "Decision",
        "EVENT_UPDATE_PROGRESS",
        "ForEach",
        "FunctorTask",
        "History",
        "MapFunctorTask",
        "ParameterizedForEach",
        "ProgressSink",
        "ReduceFunctorTask",
        "Retry",
        "Task",
        "Times",
        "invoke_atom",
        "invoke_collecting_progress",
        "progress_sink",
    ],
    "greenflow.patterns": ["Depth", "Flow", "GraphFlow", "LinearFlow", "UnorderedFlow"],
    "greenflow.compiler": [
        "ARG_FROM_ATOM",
        "ARG_FROM_INJECT",
        "ARG_FROM_STORE",
        "ArgKind",
        "ArgSource",
        "BoundFlow",
        "CompiledFlow",
        "DeciderEdge",
        "FlowCompiler",
        "JOIN",
        "Node",
        "NodeKind",
        "RETRY",
        "TASK",
        "bind_flow",
        "compile_flow",
        "flow_shape",
    ],
    "greenflow.engines": [
        "ANALYZING",
        "ENGINE_KINDS",
        "Engine",
        "EngineOptions",
        "EngineStatistics",
        "FACTORY_PREFIXES_ENV",
        "ManyRunner",
        "Outcome",
        "RunSummary",
        "SCHEDULING",
        "WAITING",
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
    ],
    "greenflow.storage": [
        "Completion",
        "PendingCommit",
        "RecordedAtom",
        "Recorder",
        "Storage",
        "TRANSITIONS_META",
    ],
    "greenflow.persistence": [
        "AtomDetail",
        "Backend",
        "Connection",
        "FlowDetail",
        "LogBook",
        "MODEL_FORMAT_VERSION",
        "MemoryBackend",
        "RetryDetail",
        "TaskDetail",
        "close_shared_backends",
        "fetch_backend",
        "json_error",
        "make_owner",
        "new_uuid",
        "owner_is_stale",
        "shared_backend",
        "shared_backends",
        "version_text",
    ],
    "greenflow.exceptions": [
        "AmbiguousDependencyError",
        "ClaimLostError",
        "CompilationError",
        "CycleError",
        "DependencyError",
        "DuplicateNameError",
        "EngineStateError",
        "ExecutorError",
        "ExecutorPicklingError",
        "ExecutorShutdownError",
        "GreenHubRequiredError",
        "GreenflowError",
        "HubConfigError",
        "HubError",
        "HubMismatchError",
        "HubNotPatchedError",
        "HubUnavailableError",
        "InvalidExecutorError",
        "InvalidFormatError",
        "InvalidOptionError",
        "JobError",
        "JobNotFoundError",
        "MissingDependencyError",
        "NotFoundError",
        "ProtocolError",
        "RemoteFailureError",
        "RequestTimeout",
        "ReservedKeywordError",
        "StaleFenceError",
        "StorageError",
        "UnclaimableJobError",
        "UnknownExecutorError",
        "UnknownHubError",
        "WorkerError",
        "WrappedFailure",
    ],
    "greenflow.states": [
        "EXECUTE",
        "FAILURE",
        "IGNORE",
        "PENDING",
        "RESUMING",
        "RETRY",
        "RETRYING",
        "REVERT",
        "REVERTED",
        "REVERTING",
        "REVERT_FAILURE",
        "RUNNING",
        "SUCCESS",
        "SUSPENDED",
        "SUSPENDING",
        "check_atom_transition",
        "check_flow_transition",
    ],
    "greenflow.failure": ["FAILURE_FORMAT_VERSION", "Failure", "RemoteFailureError"],
    "greenflow.masking": ["MASK", "mask_conf", "mask_text", "mask_url"],
    "greenflow.notifier": ["ANY", "Notifier"],
    "greenflow.hubs": [
        "Event",
        "HUB_NAMES",
        "Hub",
        "HubChoice",
        "HubConfigError",
        "HubError",
        "HubMismatchError",
        "HubNotPatchedError",
        "HubUnavailableError",
        "Lock",
        "Queue",
        "Semaphore",
        "SpawnHandle",
        "UnknownHubError",
        "Wakeup",
        "active_patching",
        "get_hub",
        "patch",
        "resolve_hub",
        "select_hub",
        "select_hub_name",
    ],
    "greenflow.executors": [
        "Done",
        "EXECUTORS",
        "EXECUTOR_NAMES",
        "Executor",
        "ExecutorError",
        "ExecutorPicklingError",
        "ExecutorShutdownError",
        "FutureStarter",
        "GreenExecutor",
        "GreenHubRequiredError",
        "InvalidExecutorError",
        "OffloadExecutor",
        "ProcessExecutor",
        "SHARED_GREEN_WORKERS",
        "SHARED_THREAD_WORKERS",
        "Starter",
        "SynchronousExecutor",
        "ThreadExecutor",
        "UnknownExecutorError",
        "default_executor_name",
        "executor_problem",
        "green_share",
        "make_executor",
        "shared_executor",
        "starter_for",
    ],
    "greenflow.workers": [
        "PROTOCOL_VERSION",
        "Progress",
        "Request",
        "Response",
        "Worker",
        "WorkerExecutor",
        "parse_message",
        "task_path",
    ],
    "greenflow.jobs": [
        "ABANDONED",
        "CLAIMED",
        "COMPLETE",
        "CONSUMED",
        "Claim",
        "FencedBackend",
        "Job",
        "JobBoard",
        "JobPriority",
        "Lease",
        "POSTED",
        "TRASHED",
        "UNCLAIMED",
        "fetch_jobboard",
        "jobboard",
        "mask_url",
    ],
    "greenflow.conductors": [
        "BlockingConductor",
        "CONDUCTOR_KINDS",
        "Conductor",
        "ConductorEntity",
        "GreenConductor",
        "NonBlockingConductor",
        "fetch_conductor",
    ],
    "greenflow.listeners": [
        "CapturingListener",
        "DynamicLoggingListener",
        "Listener",
        "LoggingListener",
        "MASK",
        "PrintingListener",
        "PrintingTimingListener",
        "TIMING_META",
        "TimingListener",
        "describe_event",
        "mask_keys",
    ],
}

MODULES = sorted(EXPECTED_EXPORTS)


def test_expected_sets_are_written_sorted_and_without_duplicates():
    for module_name, names in EXPECTED_EXPORTS.items():
        assert names == sorted(set(names)), module_name


@pytest.mark.parametrize("module_name", MODULES)
def test_module_exports_exactly_the_expected_names(module_name):
    module = importlib.import_module(module_name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), f"{module_name}.__all__ lists a name twice"
    assert sorted(exported) == EXPECTED_EXPORTS[module_name]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_exported_name_resolves(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
    namespace: dict[str, object] = {}
    exec(f"from {module_name} import *", namespace)
    assert set(module.__all__) <= set(namespace)


@pytest.mark.parametrize("module_name", MODULES)
def test_no_private_name_is_exported(module_name):
    module = importlib.import_module(module_name)
    assert [name for name in module.__all__ if name.startswith("_")] == []


@pytest.mark.parametrize("module_name", MODULES)
def test_exported_classes_and_functions_are_documented(module_name):
    module = importlib.import_module(module_name)
    undocumented = [
        name
        for name in module.__all__
        if isinstance(obj := getattr(module, name), type) or (callable(obj) and hasattr(obj, "__code__"))
        if not (obj.__doc__ or "").strip()
    ]
    assert undocumented == []


def test_top_level_names_are_the_layer_objects():
    import greenflow
    from greenflow import atoms, engines, failure, patterns

    assert greenflow.Task is atoms.Task
    assert greenflow.LinearFlow is patterns.LinearFlow
    assert greenflow.load is engines.load
    assert greenflow.Failure is failure.Failure
    assert greenflow.states is importlib.import_module("greenflow.states")
    assert isinstance(greenflow.__version__, str)

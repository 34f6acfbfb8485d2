"""What OpenStack services using TaskFlow rely on, through compat's ``taskflow`` (this process)."""

from __future__ import annotations

import concurrent.futures
import importlib
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _compat_taskflow() -> None:
    import taskflow

    if not getattr(taskflow, "GREENFLOW_COMPAT", False):
        pytest.fail(f"taskflow comes from {taskflow.__file__}, not greenflow's adapter")


def _flow(*names: str) -> Any:
    from taskflow import task
    from taskflow.patterns import linear_flow

    class Echo(task.Task):
        def execute(self) -> str:
            return self.name

    return linear_flow.Flow("f").add(*(Echo(n, provides=n) for n in names or ("a",)))


def test_serial_engine_accepts_and_ignores_an_executor_as_octavia_passes_one() -> None:
    from taskflow import engines

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        engine = engines.load(_flow("a", "b"), engine="serial", executor=pool)
        engine.run()
    assert engine.storage.fetch_all() == {"a": "a", "b": "b"}
    assert engine.greenflow_engine.options.engine == "serial"


def test_loaded_engines_are_taskflow_action_engine_classes_whose_run_can_be_patched() -> None:
    from unittest import mock

    from taskflow import engines
    from taskflow.engines.action_engine import engine as eng

    assert isinstance(engines.load(_flow()), eng.SerialActionEngine)
    parallel = engines.load(_flow(), engine="parallel", executor="threaded")
    assert isinstance(parallel, eng.ParallelActionEngine)
    with mock.patch.object(eng.ActionEngine, "run") as run:
        engines.run(_flow())  # Cinder's tests patch ActionEngine.run like this
    run.assert_called_once_with()


def test_a_lone_task_loads_as_a_flow_of_one_atom() -> None:
    from taskflow import engines

    flow = _flow("only")
    lone = next(iter(flow))
    assert engines.run(lone) == {"only": "only"}


def test_a_lone_retry_loads_and_is_refused_when_it_compiles() -> None:
    from taskflow import engines, retry

    engine = engines.load(retry.Times(3, name="r"))  # TaskFlow loads it too
    steps = (engine.compile, engine.prepare, engine.validate, engine.run, lambda: list(engine.run_iter()))
    for step in steps:
        with pytest.raises(TypeError, match="retry 'r' cannot run as the whole flow"):
            step()


def test_execution_graph_is_a_networkx_digraph_of_the_atoms() -> None:
    import networkx as nx
    from taskflow import engines
    from taskflow.types import graph

    engine = engines.load(_flow("a", "b", "c"))
    engine.compile()
    g = engine.compilation.execution_graph
    assert isinstance(g, graph.DiGraph) and isinstance(g, nx.DiGraph)
    assert [a.name for a in nx.topological_sort(g)] == ["a", "b", "c"]
    assert [(u.name, v.name) for u, v in g.edges] == [("a", "b"), ("b", "c")]
    assert {d["kind"] for _, d in g.nodes(data=True)} == {"task"}


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("taskflow.utils.misc", ["as_int", "binary_encode", "binary_decode", "get_version_string"]),
        ("taskflow.utils.threading_utils", ["daemon_thread", "get_ident"]),
        ("taskflow.utils.eventlet_utils", ["EVENTLET_AVAILABLE", "check_for_eventlet"]),
        ("taskflow.utils.kazoo_utils", ["make_client", "finalize_client", "check_compatible"]),
        ("taskflow.utils.redis_utils", ["is_server_new_enough"]),
        ("taskflow.engines.action_engine.executor", ["ParallelGreenThreadTaskExecutor"]),
        ("taskflow.engines.worker_based.engine", ["WorkerBasedActionEngine"]),
    ],
)
def test_taskflow_utility_modules_import_with_the_names_services_use(module: str, names: list[str]) -> None:
    mod = importlib.import_module(module)
    for name in names:
        assert hasattr(mod, name), f"{module}.{name}"


def test_persistence_fetch_takes_taskflow_bare_scheme_connections(tmp_path: Any) -> None:
    from taskflow.persistence import backends as persistence_backends
    from taskflow.persistence.backends import impl_dir

    for name in ("dir:", "file:", "dir"):
        with persistence_backends.backend({"connection": name, "path": str(tmp_path / "store")}) as backend:
            assert isinstance(backend, impl_dir.DirBackend)


def test_taskflow_logging_levels_and_trace_logger() -> None:
    import logging

    from taskflow import logging as taskflow_logging

    assert taskflow_logging.TRACE == taskflow_logging.BLATHER == 5 < logging.DEBUG
    assert taskflow_logging.WARN == logging.WARNING
    log = taskflow_logging.getLogger("greenflow-test.trace")
    assert log.logger is logging.getLogger("greenflow-test.trace")
    log.logger.setLevel(taskflow_logging.TRACE)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    log.logger.addHandler(handler)
    log.trace("every %s", "transition")
    assert [(r.levelno, r.getMessage()) for r in records] == [(5, "every transition")]


def test_misc_helpers_behave_as_taskflow_documents() -> None:
    from taskflow.utils import misc

    assert misc.as_int("12") == 12 and misc.as_int("1.5") == 1
    with pytest.raises(TypeError, match="Can not translate"):
        misc.as_int("x")
    assert misc.binary_decode(misc.binary_encode("é")) == "é"

    class Versioned:
        version = (1, 2)

    assert misc.get_version_string(Versioned()) == "1.2"

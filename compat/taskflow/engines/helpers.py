"""``taskflow.engines.helpers``: ``load()``, ``run()`` and friends, in TaskFlow's form.

Translates TaskFlow's engine selection (``engine='parallel'``, an engine URI such
as ``'parallel://?executor=threaded'``, the legacy ``engine_conf``) and option
names into greenflow's ``EngineOptions``, and records new flow details in the
given backend's logbook as TaskFlow does. What greenflow cannot honour raises.
Options greenflow does not have are kept in ``engine.options`` only, as TaskFlow
passes them through, unless one looks like a misspelling of an option greenflow
has: greenflow refuses that one, naming the option meant.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import threading
import urllib.parse
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

import greenflow.engines as _gf_engines
from greenflow.compiler import compile_flow
from greenflow.exceptions import InvalidOptionError
from greenflow.patterns import Flow, LinearFlow
from taskflow.engines.base import Engine
from taskflow.exceptions import NotFound
from taskflow.exceptions import NotImplementedError as _Unsupported

__all__ = [
    "ENGINES_NAMESPACE",
    "ENGINE_DEFAULT",
    "flow_from_detail",
    "load",
    "load_from_detail",
    "load_from_factory",
    "run",
    "save_factory_details",
]

#: TaskFlow's entry-point namespace of engines (accepted, unused: greenflow has no engine plugins).
ENGINES_NAMESPACE = "taskflow.engines"
ENGINE_DEFAULT = "default"

# TaskFlow's spellings -> greenflow's, by what they name: the one alias table of compat/
# (the core knows only its own names: greenflow.executors.EXECUTOR_NAMES, engine
# "serial"/"parallel"). An engine that maps to "worker" is TaskFlow's worker-based engine,
# run by greenflow's parallel engine on a WorkerExecutor. Option names are TaskFlow's and
# greenflow's alike; greenflow rejects unknown ones precisely.
ALIASES: Final[Mapping[str, Mapping[str, str]]] = {
    "engine": {
        "default": "serial",
        "serial": "serial",
        "parallel": "parallel",
        "worker-based": "worker",
        "worker_based": "worker",
        "workers": "worker",
        "worker": "worker",
    },
    "executor": {
        "thread": "thread",
        "threads": "thread",
        "threaded": "thread",
        "greenthread": "greenthread",
        "greenthreads": "greenthread",
        "greenthreaded": "greenthread",
        "process": "process",
        "processes": "process",
        "serial": "synchronous",
        "synchronous": "synchronous",
    },
}
_KINDS: Final = ALIASES["engine"]

# The options greenflow's engines have (EngineOptions' fields).
_GREENFLOW_OPTIONS: Final = sorted(f.name for f in dataclasses.fields(_gf_engines.EngineOptions))

# Options where TaskFlow reads None as "the default".
_DEFAULTED_BY_NONE = frozenset(
    {"defer_reverts", "never_resolve", "inject_transient", "max_workers", "executor"}
)

# Options of TaskFlow's worker-based engine; they build a greenflow WorkerExecutor.
_WORKER_OPTIONS = frozenset(
    {"url", "exchange", "topics", "transport", "transport_options", "transition_timeout"}
)

# TaskFlow options that only mean something to features greenflow does not have.
_UNSUPPORTED_OPTIONS = {
    "retry_options": "the worker-based engine's connection retry policy",
    "worker_expiry": "the worker-based engine's worker expiry (greenflow detects lost workers by timeout)",
    "dispatch_process_executor": "the process executor's dispatcher options",
}


def _parse_engine(engine: Any, engine_conf: Any) -> tuple[str, dict[str, Any]]:
    """Return ``(kind, options)`` from ``engine`` and the legacy ``engine_conf``."""
    options: dict[str, Any] = {}
    kind = engine or ENGINE_DEFAULT
    if engine_conf is not None:
        warnings.warn(
            "engine_conf is deprecated (as in TaskFlow); pass engine='...' and the options as keywords",
            DeprecationWarning,
            stacklevel=3,
        )
        if isinstance(engine_conf, str):
            conf_kind, conf_options = engine_conf, {}
        elif isinstance(engine_conf, Mapping):
            conf_options = dict(engine_conf)
            conf_kind = conf_options.pop("engine", ENGINE_DEFAULT)
        else:
            raise TypeError(
                f"engine_conf must be an engine name or a dict with an 'engine' key, got {engine_conf!r}"
            )
        options.update(conf_options)
        if kind == ENGINE_DEFAULT:
            kind = conf_kind
    if not isinstance(kind, str):
        raise TypeError(f"engine must be an engine name or URI, got {kind!r}")
    if "://" in kind:
        parsed = urllib.parse.urlsplit(kind)
        kind = parsed.scheme
        query = dict(urllib.parse.parse_qsl(parsed.query))
        options = {**query, **options}
    return kind, options


def _worker_executor(options: dict[str, Any]) -> Any:
    """A greenflow ``WorkerExecutor`` from TaskFlow's worker-based engine options (popped)."""
    from greenflow.workers import WorkerExecutor

    url = options.pop("url", None)
    transport = options.pop("transport", None)
    if url is None:
        if transport != "memory":
            raise TypeError(
                "the worker-based engine needs url= (the broker, e.g. 'amqp://guest:guest@host//')"
            )
        url = "memory://"
    topics = options.pop("topics", None)
    if not topics:
        raise TypeError("the worker-based engine needs topics= (the workers' topics)")
    timeout = options.pop("transition_timeout", None)
    return WorkerExecutor(
        url,
        options.pop("exchange", None) or "default",
        topics=list(topics),
        timeout=float(timeout) if timeout is not None else 60.0,
        transport_options=options.pop("transport_options", None),
    )


def _unpatched_green_pool(executor: Any) -> bool:
    """Whether ``executor`` is futurist's eventlet pool in a process eventlet has not patched."""
    cls = type(executor)
    if cls.__name__ != "GreenThreadPoolExecutor" or not cls.__module__.startswith("futurist"):
        return False
    from greenflow.hubs import active_patching

    return active_patching() != "eventlet"


class _RunAtSubmit:
    """futurist's green pool where eventlet has not patched the process (TaskFlow's examples do this).

    Its green threads run only while the calling thread yields to eventlet's hub, which futurist's
    waiters do (TaskFlow waits with them) and greenflow's waits on OS-thread primitives never do: the
    atoms would never run. Each call is therefore run to its end when submitted, waited for the
    eventlet way; without patching nothing could have overlapped anyway.
    """

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        import futurist.waiters

        future = self._pool.submit(fn, *args, **kwargs)
        futurist.waiters.wait_for_all([future])
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Leave the pool to its owner (who made it, and shuts it down)."""


def _greenflow_options(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    if _KINDS.get(kind) == "worker":
        rest = dict(options)
        executor = _worker_executor(rest)
        out = _greenflow_options("parallel", rest)
        out.update(engine="parallel", executor=executor, _owned_executor=executor)
        return out
    if kind not in _KINDS:
        raise NotFound(f"Could not find engine {kind!r} (greenflow provides: {sorted(_KINDS)})")
    out: dict[str, Any] = {"engine": _KINDS[kind]}
    for name, value in options.items():
        if name in _WORKER_OPTIONS:
            raise TypeError(f"engine option {name!r} belongs to engine='worker-based', not {kind!r}")
        if name in _UNSUPPORTED_OPTIONS:
            raise _Unsupported(
                f"engine option {name!r} belongs to {_UNSUPPORTED_OPTIONS[name]}, "
                f"which greenflow does not support yet"
            )
        if value is None and name in _DEFAULTED_BY_NONE:
            continue  # TaskFlow's "use the default"
        if name == "executor" and _unpatched_green_pool(value):
            value = _RunAtSubmit(value)
        if name == "executor" and isinstance(value, str):
            value = ALIASES["executor"].get(value.lower(), value)
        if name == "max_workers" and isinstance(value, str) and value.isdigit():
            value = int(value)  # from an engine URI's query string
        if name not in _GREENFLOW_OPTIONS and not difflib.get_close_matches(name, _GREENFLOW_OPTIONS, n=1):
            # TaskFlow passes options it does not know through to engine.options (code of the
            # service's own may read them there); one that looks like a misspelt option of
            # greenflow's is left for greenflow to refuse, naming the option meant.
            continue
        out[name] = value
    if out["engine"] == "serial":
        # TaskFlow's serial engine accepts an executor and ignores it (services such as
        # Octavia always pass one); so does the adapter.
        out.pop("executor", None)
    return out


def _as_flow(flow: Any) -> tuple[Any, Exception | None]:
    """``(flow, why it cannot run)``: TaskFlow runs a lone task as a flow of one atom, so does the adapter.

    A lone retry loads (as an empty flow) and is refused when it compiles, as in TaskFlow.
    """
    from greenflow.atoms import Atom, Retry

    if isinstance(flow, Retry):
        return LinearFlow(flow.name), InvalidOptionError(
            f"retry {flow.name!r} cannot run as the whole flow: a retry controls a flow, "
            f"pass it as Flow(name, retry=...)"
        )
    if isinstance(flow, Atom):
        return LinearFlow(flow.name).add(flow), None
    return flow, None


class _NotAFlow:
    """The greenflow engine of something that is not a flow: compiling (or running) it raises.

    Everything else (notifiers, storage of an empty flow detail) is that of an engine of
    an empty flow, so TaskFlow's engine wrapper can be made before the error is raised.
    """

    def __init__(self, engine: Any, value: Any) -> None:
        self._engine = engine
        self._value = value

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        compile_flow(self._value)  # raises the error saying what an engine runs
        raise AssertionError("unreachable: compile_flow() accepted a non-flow")

    compile = prepare = validate = run = run_iter = reset = _refuse

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def _import_factory(name: str) -> Callable[..., Any]:
    module_name, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]
    except (ImportError, AttributeError, ValueError) as exc:
        raise NotFound(f"cannot import flow factory {name!r}: {exc}") from exc


def _flow_detail_for(flow: Any, book: Any, backend: Any) -> Any:
    """A new flow detail recorded in ``book`` (a new logbook if none) and saved in ``backend``."""
    from taskflow.utils import persistence_utils

    return persistence_utils.create_flow_detail(flow, book=book, backend=backend)


def _wrap(engine: Any, flow: Any, kind: str, options: Mapping[str, Any], given: Any) -> Engine:
    from taskflow.engines.action_engine import engine as action_engine

    cls: type[Engine]
    if _KINDS[kind] == "worker":
        from taskflow.engines.worker_based.engine import WorkerBasedActionEngine

        cls = WorkerBasedActionEngine
    elif _KINDS[kind] == "parallel":
        cls = action_engine.ParallelActionEngine
    else:
        cls = action_engine.SerialActionEngine
    # TaskFlow's engine.options are the options it was given, the engine's name aside.
    return cls(engine, {k: v for k, v in options.items() if k != "engine"}, flow, given)


def load(
    flow: Any,
    store: Mapping[str, Any] | None = None,
    flow_detail: Any = None,
    book: Any = None,
    backend: Any = None,
    namespace: str = ENGINES_NAMESPACE,
    engine: str = ENGINE_DEFAULT,
    engine_conf: Any = None,
    **kwargs: Any,
) -> Engine:
    """Load an engine for ``flow`` (TaskFlow's ``taskflow.engines.load``)."""
    kind, options = _parse_engine(engine, engine_conf)
    options.update(kwargs)
    gf_options = _greenflow_options(kind, options)
    if isinstance(backend, (str, dict)):
        from taskflow.persistence import backends

        backend = backends.fetch(backend)
    if flow_detail is None and backend is not None:
        flow_detail = _flow_detail_for(flow, book, backend)
        book = None
    owned = gf_options.pop("_owned_executor", None)
    given = flow
    flow, refusal = _as_flow(flow)
    if not isinstance(flow, Flow):
        # TaskFlow's load() takes anything and its compile() refuses what is not a flow.
        gf_engine = _NotAFlow(
            _gf_engines.load(LinearFlow("not-a-flow"), backend=backend, book=book, **gf_options), flow
        )
    else:
        gf_engine = _gf_engines.load(
            flow, store=store, backend=backend, book=book, flow_detail=flow_detail, **gf_options
        )
    wrapped = _wrap(gf_engine, flow, kind, options, given)
    wrapped._refusal = refusal
    if owned is not None:
        # TaskFlow's worker-based engine owns its executor: it lives as long as the engine.
        weakref.finalize(wrapped, _shut_down_elsewhere, owned)
    return wrapped


def _shut_down_elsewhere(executor: Any) -> None:
    """Shut ``executor`` down on a thread of its own.

    A finalizer runs wherever the garbage collector happens to run: in any
    thread, possibly one holding a lock the shutdown needs (kombu's memory
    transport closes its queues under the very mutex a thread collecting
    garbage inside ``Queue.get`` holds), which deadlocked TaskFlow's worker
    tests. A thread of its own holds nothing.
    """
    threading.Thread(target=executor.shutdown, name="taskflow-executor-shutdown", daemon=True).start()


def run(flow: Any, store: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Load and run ``flow``; return ``engine.storage.fetch_all()``."""
    eng = load(flow, store=store, **kwargs)
    eng.run()
    return dict(eng.storage.fetch_all())


def save_factory_details(
    flow_detail: Any,
    flow_factory: Callable[..., Any],
    factory_args: Any,
    factory_kwargs: Mapping[str, Any] | None,
    backend: Any = None,
) -> None:
    """Record in ``flow_detail`` how to rebuild its flow (for ``flow_from_detail``)."""
    _gf_engines.save_factory_details(flow_detail, flow_factory, factory_args, factory_kwargs, backend)


def load_from_factory(
    flow_factory: Callable[..., Any],
    factory_args: Any = None,
    factory_kwargs: Mapping[str, Any] | None = None,
    store: Mapping[str, Any] | None = None,
    book: Any = None,
    backend: Any = None,
    namespace: str = ENGINES_NAMESPACE,
    engine: str = ENGINE_DEFAULT,
    **kwargs: Any,
) -> Engine:
    """Build the flow with ``flow_factory``, record the factory in its flow detail, and load it."""
    if isinstance(flow_factory, str):
        flow_factory = _import_factory(flow_factory)
    _gf_engines.factory_name(flow_factory)  # a factory a resumed run could not import fails first
    flow = flow_factory(*(factory_args or ()), **(factory_kwargs or {}))
    eng = load(flow, store=store, book=book, backend=backend, engine=engine, **kwargs)
    save_factory_details(
        eng.storage.flow_detail, flow_factory, factory_args, factory_kwargs, eng.storage.backend
    )
    return eng


def _import_class(name: str) -> Callable[..., Any]:
    """The factory named ``name``: through oslo.utils' ``import_class`` when it is installed.

    TaskFlow imports factories with it, and code testing a TaskFlow program mocks it
    (``oslo_utils.importutils.import_class``): it is looked up at each call so a mock applies.
    """
    try:
        from oslo_utils import importutils
    except ImportError:
        return _import_factory(name)
    return importutils.import_class(name)  # type: ignore[no-any-return]


def flow_from_detail(flow_detail: Any) -> Any:
    """Rebuild the flow recorded by ``load_from_factory`` in ``flow_detail`` (what its factory returns).

    As in TaskFlow, any importable factory the record names is called (greenflow's
    own ``load_from_detail`` allows only the prefixes it is given). ``ValueError``
    when the record names no factory, ``ImportError`` when it cannot be imported.
    """
    recorded = (flow_detail.meta or {}).get("factory")
    if not recorded:
        raise ValueError(
            f"Cannot reconstruct flow {flow_detail.name} {flow_detail.uuid}, no factory information saved."
        )
    name = recorded.get("name")
    try:
        factory = _import_class(name)
    except (ImportError, ValueError, AttributeError, NotFound) as exc:
        raise ImportError(f"Could not import factory {name!r}: {exc}") from exc
    return factory(*recorded.get("args", ()), **recorded.get("kwargs", {}))


def load_from_detail(
    flow_detail: Any,
    store: Mapping[str, Any] | None = None,
    backend: Any = None,
    namespace: str = ENGINES_NAMESPACE,
    engine: str = ENGINE_DEFAULT,
    **kwargs: Any,
) -> Engine:
    """Load an engine that resumes ``flow_detail`` (its flow rebuilt from the recorded factory)."""
    flow = flow_from_detail(flow_detail)
    return load(flow, flow_detail=flow_detail, store=store, backend=backend, engine=engine, **kwargs)

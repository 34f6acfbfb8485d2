"""``load()``, ``run()`` and the other ways to get an engine for a flow."""

from __future__ import annotations

import importlib
import itertools
import os
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeAlias

from greenflow.engines._engine import Engine
from greenflow.engines._options import EngineOptions
from greenflow.exceptions import InvalidOptionError, NotFoundError, StorageError
from greenflow.masking import mask_conf
from greenflow.patterns import Flow
from greenflow.persistence import Backend, FlowDetail, LogBook, MemoryBackend, shared_backend

__all__ = [
    "FACTORY_PREFIXES_ENV",
    "allow_factories",
    "flow_from_detail",
    "load",
    "load_from_detail",
    "load_from_factory",
    "load_with_options",
    "run",
    "save_factory_details",
]

_FACTORY_META = "factory"


# Engines given no backend share this one: with nothing to write through, it
# holds no per-engine state (an in-memory run records into its own flow detail).
_DEFAULT_BACKEND = MemoryBackend()


#: What ``load()`` accepts as ``backend=``: a backend object, its URL, or ``{'connection': URL, ...}``.
BackendSpec: TypeAlias = "Backend | str | dict[str, Any] | None"

# Backend objects already validated: engines loaded in bulk on one backend check it once.
_VALIDATED: weakref.WeakSet[Backend] = weakref.WeakSet()


def _backend(backend: BackendSpec) -> Backend:
    """The backend object for ``load()``'s argument, checked to be reachable now, not mid-run.

    A URL or conf dict names the process's shared backend for it (one pool and
    one writer for every engine naming the same configuration).
    """
    if backend is None:
        return _DEFAULT_BACKEND
    if isinstance(backend, (str, dict)):
        resolved: Backend = shared_backend(backend)
    elif hasattr(backend, "get_connection"):
        resolved = backend
    else:
        raise InvalidOptionError(
            f"backend must be a URL, a dict or a backend object, got {mask_conf(backend)!r}"
        )
    _validate(resolved)
    return resolved


def _validate(backend: Backend) -> None:
    try:
        if backend in _VALIDATED:
            return
    except TypeError:  # not weakly referenceable: validate on every load
        pass
    try:
        conn = backend.get_connection()
        validate = getattr(conn, "validate", None)
        if validate is not None:
            validate()
    except StorageError:
        raise
    except Exception as exc:  # a driver's or the OS's error: say which backend could not be used
        raise StorageError(
            f"persistence backend {type(backend).__name__} ({_describe(backend)}) is not usable: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    try:
        _VALIDATED.add(backend)
    except TypeError:
        pass


def _describe(backend: Backend) -> str:
    """The backend's URL without a password."""
    url = str(getattr(backend, "conf", {}).get("connection", "?"))
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if sep and at and ":" in credentials:
        url = f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return url


def _flow_detail(
    flow: Flow, backend: Backend, book: LogBook | None, flow_detail: FlowDetail | None, defer: bool = False
) -> tuple[FlowDetail, LogBook | None]:
    """The flow detail to record the run in, and its new logbook when its saving is deferred."""
    if flow_detail is not None:
        if not isinstance(flow_detail, FlowDetail):
            raise InvalidOptionError(f"flow_detail must be a FlowDetail, got {flow_detail!r}")
        return flow_detail, None
    flow_detail = FlowDetail(flow.name)
    # Any backend given to load() records the run in a logbook (the memory one indexes it).
    records = backend is not _DEFAULT_BACKEND
    if book is None:
        if not records:
            return flow_detail, None  # a run with no backend needs no logbook: skip making one
        book = LogBook(flow.name)
        if defer and callable(getattr(backend, "write_batch", None)):
            # A new logbook of its own: written with the run's claim, in the writer's round.
            book.add(flow_detail)
            return flow_detail, book
    elif not isinstance(book, LogBook):
        raise InvalidOptionError(f"book must be a LogBook, got {book!r}")
    book.add(flow_detail)
    if records:
        backend.get_connection().save_logbook(book)
    return flow_detail, None


def load(
    flow: Flow,
    store: Mapping[str, Any] | None = None,
    engine: str = "serial",
    executor: Any = None,
    backend: BackendSpec = None,
    book: LogBook | None = None,
    flow_detail: FlowDetail | None = None,
    defer_creation: bool = False,
    **options: Any,
) -> Engine:
    """Make an engine for ``flow``.

    ``store`` values are injected (any atom may require them by name);
    ``backend`` is a backend object, URL or ``{'connection': URL}`` (in-memory by
    default); ``book``/``flow_detail`` choose where the run is recorded (pass
    an existing ``flow_detail`` to resume it). ``defer_creation=True`` (for an
    engine about to run, e.g. one of many fed to ``run_many``): a new flow's
    records reach the backend with its run's claim, in one group-commit round
    shared with other engines, instead of in commits of their own at load time
    (on backends with a group-commit writer, the SQL ones; others save at load
    as usual); until the run starts the backend holds nothing of it. Other keyword
    arguments are engine options (see ``EngineOptions``); a misspelt one raises.
    """
    if not isinstance(flow, Flow):
        raise InvalidOptionError(
            f"load() needs a flow (LinearFlow, UnorderedFlow or GraphFlow), "
            f"got {type(flow).__name__} {flow!r}"
        )
    if executor is not None:
        options["executor"] = executor
    opts = EngineOptions.build(engine, **options)
    return load_with_options(
        flow,
        opts,
        store=store,
        backend=backend,
        book=book,
        flow_detail=flow_detail,
        defer_creation=defer_creation,
    )


def load_with_options(
    flow: Flow,
    options: EngineOptions,
    store: Mapping[str, Any] | None = None,
    backend: BackendSpec = None,
    book: LogBook | None = None,
    flow_detail: FlowDetail | None = None,
    defer_creation: bool = False,
) -> Engine:
    """``load()`` with options already built (and validated): for callers loading many engines alike.

    ``defer_creation`` (for callers that run the engine at once, like
    ``run_many``): a new flow's records are written with its run's claim, in
    one round of the backend's writer with other engines' transitions,
    instead of in three commits of its own at load time.
    """
    if store is not None and not isinstance(store, Mapping):
        raise InvalidOptionError(f"store must be a dict of name -> value, got {store!r}")
    backend = _backend(backend)
    # An engine with no backend records into its own flow detail only: no saves, no claims.
    recorder = None if backend is _DEFAULT_BACKEND else backend
    detail, new_book = _flow_detail(flow, backend, book, flow_detail, defer_creation)
    eng = Engine(flow, detail, recorder, options)
    if new_book is not None:
        eng.storage.defer_creation(new_book)
    if store:
        # A run some backend records keeps its store= values with it, so a resumed run has them.
        eng.storage.inject(store, transient=options.inject_transient and recorder is None)
    return eng


def run(flow: Flow, store: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Load and run ``flow``; return every symbol it provided (``storage.fetch_all()``)."""
    eng = load(flow, store=store, **kwargs)
    eng.run()
    return eng.storage.fetch_all()


def factory_name(flow_factory: Callable[..., Any]) -> str:
    """The name ``flow_from_detail`` imports ``flow_factory`` by (``InvalidOptionError`` if it would fail).

    A factory defined in a function, or whose name now means something else,
    could not rebuild the flow when a run is resumed.
    """
    name = _qualified_name(flow_factory)
    try:
        found = _import_factory(name)
    except NotFoundError:
        found = None
    if found is not flow_factory:
        raise InvalidOptionError(
            f"Flow factory {flow_factory!r} is not reimportable by name {name!r}: a resumed run "
            f"could not rebuild its flow; define the factory at module level"
        )
    return name


def _qualified_name(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise InvalidOptionError(
            f"Flow factory {func!r} is not reimportable: it must be a module-level function "
            f"(importable by name) to be recorded"
        )
    return f"{module}.{qualname}"


#: Environment variable adding allowed flow factory prefixes (comma-separated; ``*`` allows any).
FACTORY_PREFIXES_ENV: Final = "GREENFLOW_FACTORY_PREFIXES"
_allowed_prefixes: set[str] = set()
# Factories this process recorded itself (load_from_factory, jobboard posts): trusted.
_recorded_factories: set[str] = set()


def allow_factories(*prefixes: str) -> None:
    """Let ``load_from_detail`` import flow factories under these dotted prefixes, in this process.

    A stored flow detail names the factory that rebuilds its flow, and
    ``load_from_detail`` imports and calls it: whoever can write the database
    could otherwise make this process run any importable callable. Allowed are
    the factories this process recorded itself, names under a prefix given here,
    in ``GREENFLOW_FACTORY_PREFIXES`` or as ``factory_prefixes=``; ``"*"``
    allows any (TaskFlow's behaviour, which compat keeps).
    """
    for prefix in prefixes:
        if not isinstance(prefix, str) or not prefix.strip(". "):
            raise InvalidOptionError(f"a factory prefix must be a dotted module path or '*', got {prefix!r}")
        _allowed_prefixes.add(prefix.strip())


def _factory_allowed(name: str, extra: Iterable[str]) -> bool:
    if name in _recorded_factories:
        return True
    env = [p.strip() for p in os.environ.get(FACTORY_PREFIXES_ENV, "").split(",") if p.strip()]
    for prefix in itertools.chain(_allowed_prefixes, env, extra):
        if prefix == "*" or name == prefix or name.startswith(prefix.rstrip(".") + "."):
            return True
    return False


def _import_factory(name: str) -> Callable[..., Any]:
    module_name, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]
    except (ImportError, AttributeError, ValueError) as exc:
        raise NotFoundError(f"cannot import flow factory {name!r}: {exc}") from exc


def save_factory_details(
    flow_detail: FlowDetail,
    flow_factory: Callable[..., Any],
    factory_args: Any,
    factory_kwargs: Mapping[str, Any] | None,
    backend: Backend | None = None,
) -> None:
    """Record in ``flow_detail.meta`` how to rebuild the flow (for ``flow_from_detail``)."""
    name = _qualified_name(flow_factory)
    _recorded_factories.add(name)
    flow_detail.meta[_FACTORY_META] = {
        "name": name,
        "args": list(factory_args or ()),
        "kwargs": dict(factory_kwargs or {}),
    }
    if backend is not None and getattr(backend, "writes_through", False):
        backend.get_connection().update_flow_details(flow_detail)


def load_from_factory(
    flow_factory: Callable[..., Flow],
    factory_args: Any = None,
    factory_kwargs: Mapping[str, Any] | None = None,
    store: Mapping[str, Any] | None = None,
    book: LogBook | None = None,
    backend: BackendSpec = None,
    **kwargs: Any,
) -> Engine:
    """Build the flow with ``flow_factory(*args, **kwargs)``, record the factory, and load it.

    The factory must be importable by its name (``flow_from_detail`` rebuilds
    the flow through it); ``InvalidOptionError`` otherwise, before it is called.
    """
    factory_name(flow_factory)
    flow = flow_factory(*(factory_args or ()), **(factory_kwargs or {}))
    backend = _backend(backend)
    eng = load(flow, store=store, book=book, backend=backend, **kwargs)
    save_factory_details(eng.storage.flow_detail, flow_factory, factory_args, factory_kwargs, backend)
    return eng


def flow_from_detail(flow_detail: FlowDetail, factory_prefixes: Iterable[str] | None = None) -> Flow:
    """Rebuild a flow from the factory recorded in ``flow_detail`` by ``load_from_factory``.

    Security: the factory named in the record is imported and called only if
    it is allowed (see :func:`allow_factories`; ``factory_prefixes`` adds
    prefixes for this call); otherwise ``InvalidOptionError``.
    """
    meta = flow_detail.meta.get(_FACTORY_META)
    if not meta:
        raise NotFoundError(
            f"flow detail {flow_detail.name!r} ({flow_detail.uuid}) records no flow factory; "
            f"it was not loaded with load_from_factory()"
        )
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str):
        raise InvalidOptionError(
            f"flow detail {flow_detail.name!r} ({flow_detail.uuid}) records a malformed flow "
            f"factory: {meta!r:.200}"
        )
    if not _factory_allowed(name, factory_prefixes or ()):
        raise InvalidOptionError(
            f"flow detail {flow_detail.name!r} ({flow_detail.uuid}) names flow factory {name!r:.200}, "
            f"which is not allowed: a stored record must not choose code to run. Allow its module "
            f"with factory_prefixes=[...], greenflow.engines.allow_factories(...) or "
            f"{FACTORY_PREFIXES_ENV}"
        )
    factory = _import_factory(name)
    flow = factory(*meta.get("args", ()), **meta.get("kwargs", {}))
    if not isinstance(flow, Flow):
        raise InvalidOptionError(f"flow factory {meta['name']!r} returned {flow!r}, not a flow")
    return flow


def load_from_detail(
    flow_detail: FlowDetail,
    store: Mapping[str, Any] | None = None,
    backend: BackendSpec = None,
    factory_prefixes: Iterable[str] | None = None,
    **kwargs: Any,
) -> Engine:
    """Load an engine that resumes ``flow_detail`` (its flow rebuilt from the recorded factory).

    The recorded factory must be allowed (see :func:`allow_factories`).
    """
    flow = flow_from_detail(flow_detail, factory_prefixes)
    return load(flow, store=store, backend=backend, flow_detail=flow_detail, **kwargs)

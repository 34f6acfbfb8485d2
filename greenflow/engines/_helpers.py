"""``load()``, ``run()`` and the other ways to get an engine for a flow."""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from greenflow.engines._engine import Engine
from greenflow.engines._options import EngineOptions
from greenflow.exceptions import InvalidOptionError, NotFoundError, StorageError
from greenflow.masking import mask_conf
from greenflow.patterns import Flow
from greenflow.persistence import FlowDetail, LogBook, MemoryBackend, fetch_backend

__all__ = [
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


# Backend objects already validated: engines loaded in bulk on one backend check it once.
_VALIDATED: weakref.WeakSet[Any] = weakref.WeakSet()


def _backend(backend: Any) -> Any:
    """The backend object for ``load()``'s argument, checked to be reachable now, not mid-run."""
    if backend is None:
        return _DEFAULT_BACKEND
    if isinstance(backend, (str, dict)):
        backend = fetch_backend(backend)
    elif not hasattr(backend, "get_connection"):
        raise InvalidOptionError(
            f"backend must be a URL, a dict or a backend object, got {mask_conf(backend)!r}"
        )
    _validate(backend)
    return backend


def _validate(backend: Any) -> None:
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


def _describe(backend: Any) -> str:
    """The backend's URL without a password."""
    url = str(getattr(backend, "conf", {}).get("connection", "?"))
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if sep and at and ":" in credentials:
        url = f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return url


def _flow_detail(
    flow: Flow, backend: Any, book: LogBook | None, flow_detail: FlowDetail | None
) -> FlowDetail:
    if flow_detail is not None:
        if not isinstance(flow_detail, FlowDetail):
            raise InvalidOptionError(f"flow_detail must be a FlowDetail, got {flow_detail!r}")
        return flow_detail
    flow_detail = FlowDetail(flow.name)
    # Any backend given to load() records the run in a logbook (the memory one indexes it).
    records = backend is not _DEFAULT_BACKEND
    if book is None:
        if not records:
            return flow_detail  # a run with no backend needs no logbook: skip making one
        book = LogBook(flow.name)
    elif not isinstance(book, LogBook):
        raise InvalidOptionError(f"book must be a LogBook, got {book!r}")
    book.add(flow_detail)
    if records:
        backend.get_connection().save_logbook(book)
    return flow_detail


def load(
    flow: Flow,
    store: Mapping[str, Any] | None = None,
    engine: str = "serial",
    executor: Any = None,
    backend: Any = None,
    book: LogBook | None = None,
    flow_detail: FlowDetail | None = None,
    engine_conf: Any = None,
    **options: Any,
) -> Engine:
    """Make an engine for ``flow``.

    ``store`` values are injected (any atom may require them by name);
    ``backend`` is a backend object, URL or ``{'connection': URL}`` (in-memory by
    default); ``book``/``flow_detail`` choose where the run is recorded (pass
    an existing ``flow_detail`` to resume it). Other keyword arguments are
    engine options (see ``EngineOptions``); a misspelt one raises.
    """
    if not isinstance(flow, Flow):
        raise InvalidOptionError(
            f"load() needs a flow (LinearFlow, UnorderedFlow or GraphFlow), "
            f"got {type(flow).__name__} {flow!r}"
        )
    if executor is not None:
        options["executor"] = executor
    opts = EngineOptions.build(engine, engine_conf, **options)
    return load_with_options(flow, opts, store=store, backend=backend, book=book, flow_detail=flow_detail)


def load_with_options(
    flow: Flow,
    options: EngineOptions,
    store: Mapping[str, Any] | None = None,
    backend: Any = None,
    book: LogBook | None = None,
    flow_detail: FlowDetail | None = None,
) -> Engine:
    """``load()`` with options already built (and validated): for callers loading many engines alike."""
    if store is not None and not isinstance(store, Mapping):
        raise InvalidOptionError(f"store must be a dict of name -> value, got {store!r}")
    backend = _backend(backend)
    # An engine with no backend records into its own flow detail only: no saves, no claims.
    recorder = None if backend is _DEFAULT_BACKEND else backend
    eng = Engine(flow, _flow_detail(flow, backend, book, flow_detail), recorder, options)
    if store:
        # A run some backend records keeps its store= values with it, so a resumed run has them.
        eng.storage.inject(store, transient=options.inject_transient and recorder is None)
    return eng


def run(flow: Flow, store: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Load and run ``flow``; return every symbol it provided (``storage.fetch_all()``)."""
    eng = load(flow, store=store, **kwargs)
    eng.run()
    return eng.storage.fetch_all()


def _qualified_name(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise InvalidOptionError(
            f"flow factory {func!r} must be a module-level function (importable by name) to be recorded"
        )
    return f"{module}.{qualname}"


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
    backend: Any = None,
) -> None:
    """Record in ``flow_detail.meta`` how to rebuild the flow (for ``flow_from_detail``)."""
    flow_detail.meta[_FACTORY_META] = {
        "name": _qualified_name(flow_factory),
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
    backend: Any = None,
    **kwargs: Any,
) -> Engine:
    """Build the flow with ``flow_factory(*args, **kwargs)``, record the factory, and load it."""
    flow = flow_factory(*(factory_args or ()), **(factory_kwargs or {}))
    backend = _backend(backend)
    eng = load(flow, store=store, book=book, backend=backend, **kwargs)
    save_factory_details(eng.storage.flow_detail, flow_factory, factory_args, factory_kwargs, backend)
    return eng


def flow_from_detail(flow_detail: FlowDetail) -> Flow:
    """Rebuild a flow from the factory recorded in ``flow_detail`` by ``load_from_factory``."""
    meta = flow_detail.meta.get(_FACTORY_META)
    if not meta:
        raise NotFoundError(
            f"flow detail {flow_detail.name!r} ({flow_detail.uuid}) records no flow factory; "
            f"it was not loaded with load_from_factory()"
        )
    factory = _import_factory(meta["name"])
    flow = factory(*meta.get("args", ()), **meta.get("kwargs", {}))
    if not isinstance(flow, Flow):
        raise InvalidOptionError(f"flow factory {meta['name']!r} returned {flow!r}, not a flow")
    return flow


def load_from_detail(
    flow_detail: FlowDetail, store: Mapping[str, Any] | None = None, backend: Any = None, **kwargs: Any
) -> Engine:
    """Load an engine that resumes ``flow_detail`` (its flow rebuilt from the recorded factory)."""
    return load(
        flow_from_detail(flow_detail), store=store, backend=backend, flow_detail=flow_detail, **kwargs
    )

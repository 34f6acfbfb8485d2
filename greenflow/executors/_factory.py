"""Turning an executor name or object into an executor, and saying who owns it."""

from __future__ import annotations

from typing import Final

from greenflow.exceptions import InvalidExecutorError, UnknownExecutorError
from greenflow.executors._base import Executor
from greenflow.executors._green import GreenExecutor
from greenflow.executors._offload import OffloadExecutor
from greenflow.executors._process import ProcessExecutor
from greenflow.executors._synchronous import SynchronousExecutor
from greenflow.executors._thread import ThreadExecutor
from greenflow.hubs import Hub, get_hub

__all__ = ["EXECUTOR_NAMES", "green_share", "make_executor"]

_KINDS: Final = {
    "greenthread": "green",
    "greenthreaded": "green",
    "thread": "thread",
    "threaded": "thread",
    "process": "process",
    "processes": "process",
    "offload": "offload",
    "serial": "synchronous",
    "synchronous": "synchronous",
}

#: Every name :func:`make_executor` accepts (TaskFlow's names and their short forms).
EXECUTOR_NAMES: Final = tuple(sorted(_KINDS))

_DEFAULT_GREEN_WORKERS: Final = 1000


def green_share(spec: object, max_workers: int | None, hub: Hub) -> int | None:
    """An engine's bound on the hub's shared green pool, when ``spec`` asks for green threads of its own.

    On a green hub, an engine given ``executor='greenthread'`` (or no executor
    and ``max_workers``) needs no pool of its own: it runs its atoms on the
    hub's shared green executor, at most this many at once (``max_workers``,
    or 1000, a new green executor's default). ``None`` for any other spec or
    hub: the engine makes (or is given) its executor as usual.
    """
    if not hub.is_green:
        return None
    if spec is None or (isinstance(spec, str) and _KINDS.get(spec) == "green"):
        return _DEFAULT_GREEN_WORKERS if max_workers is None else max_workers
    return None


def make_executor(
    spec: Executor | str | None,
    max_workers: int | None = None,
    hub: Hub | str | None = None,
) -> tuple[Executor, bool]:
    """Return ``(executor, owned)`` for an engine's ``executor`` option.

    * an executor object (anything with ``submit`` and ``shutdown``) is used
      as it is, and ``owned`` is ``False``: the caller must not shut it down,
      since other engines may share it;
    * a name creates a new executor that the caller owns (``owned`` is
      ``True``) and must shut down: ``'greenthread'``/``'greenthreaded'`` a
      :class:`GreenExecutor` on ``hub``, ``'thread'``/``'threaded'`` a
      :class:`ThreadExecutor`, ``'process'``/``'processes'`` a
      :class:`ProcessExecutor`, ``'offload'`` an :class:`OffloadExecutor`
      (native threads even under a green hub), ``'serial'``/``'synchronous'`` a
      :class:`SynchronousExecutor`;
    * ``None`` picks by hub: a green executor on a green hub, a thread
      executor on the threading hub.

    ``max_workers=None`` means each kind's default (1000 green threads; the
    standard library's defaults for threads and processes). ``hub`` (a hub
    or a hub name, resolved by :func:`greenflow.hubs.get_hub`) matters only
    for ``None`` and the green executor.

    Raises:
        UnknownExecutorError: ``spec`` is a string that is not a valid name.
        InvalidExecutorError: ``spec`` is neither a string nor an executor.
        GreenHubRequiredError: a green executor is asked for on the threading hub.
    """
    if spec is None:
        resolved = hub if hub is not None and not isinstance(hub, str) else get_hub(hub)
        return make_executor("greenthread" if resolved.is_green else "thread", max_workers, resolved)
    if isinstance(spec, str):
        kind = _KINDS.get(spec)
        if kind is None:
            raise UnknownExecutorError(
                f"unknown executor {spec!r}; valid names: {', '.join(EXECUTOR_NAMES)}"
                " (or pass an executor object)"
            )
        if kind == "green":
            workers = _DEFAULT_GREEN_WORKERS if max_workers is None else max_workers
            return GreenExecutor(max_workers=workers, hub=hub), True
        if kind == "thread":
            return ThreadExecutor(max_workers), True
        if kind == "process":
            return ProcessExecutor(max_workers), True
        if kind == "offload":
            return OffloadExecutor(max_workers, hub=hub), True
        return SynchronousExecutor(), True
    if callable(getattr(spec, "submit", None)) and callable(getattr(spec, "shutdown", None)):
        return spec, False
    raise InvalidExecutorError(
        f"executor must be an executor object (with submit() and shutdown()) or one of the"
        f" names {', '.join(EXECUTOR_NAMES)}; got {spec!r} of type {type(spec).__name__}"
    )

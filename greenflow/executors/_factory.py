"""The executor registry: canonical names, the one default choice per hub, and who owns what.

``EXECUTORS`` maps each canonical name to what builds it; every other
spelling (TaskFlow's ``'threaded'``, ``'processes'``, ``'greenthreaded'``)
is translated by ``compat/`` before it reaches here. ``default_executor_name``
is the one place where an executor kind is chosen for a hub.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from greenflow.exceptions import InvalidExecutorError, UnknownExecutorError
from greenflow.executors._base import Executor
from greenflow.executors._green import GreenExecutor
from greenflow.executors._offload import OffloadExecutor
from greenflow.executors._process import ProcessExecutor
from greenflow.executors._synchronous import SynchronousExecutor
from greenflow.executors._thread import ThreadExecutor
from greenflow.hubs import Hub, resolve_hub

__all__ = [
    "EXECUTORS",
    "EXECUTOR_NAMES",
    "default_executor_name",
    "executor_problem",
    "green_share",
    "make_executor",
]

_DEFAULT_GREEN_WORKERS: Final = 1000

#: Canonical executor name -> ``build(max_workers, hub)`` (``max_workers=None``: the kind's default).
EXECUTORS: Final[dict[str, Callable[[int | None, Hub | str | None], Executor]]] = {
    "greenthread": lambda n, hub: GreenExecutor(_DEFAULT_GREEN_WORKERS if n is None else n, hub=hub),
    "thread": lambda n, hub: ThreadExecutor(n),
    "process": lambda n, hub: ProcessExecutor(n),
    "offload": lambda n, hub: OffloadExecutor(n, hub=hub),
    "synchronous": lambda n, hub: SynchronousExecutor(),
}

#: Every name :func:`make_executor` accepts.
EXECUTOR_NAMES: Final = tuple(sorted(EXECUTORS))


def default_executor_name(hub: Hub) -> str:
    """The executor kind used where none is named: green threads on a green hub, OS threads otherwise."""
    return "greenthread" if hub.is_green else "thread"


def executor_problem(spec: object) -> str | None:
    """Why ``spec`` is not an executor name or object (a message listing the valid names), or ``None``."""
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec in EXECUTORS:
            return None
        return (
            f"unknown executor {spec!r}; valid names: {', '.join(EXECUTOR_NAMES)}"
            " (or pass an executor object with submit() and shutdown())"
        )
    if callable(getattr(spec, "submit", None)) and callable(getattr(spec, "shutdown", None)):
        return None
    return (
        f"executor must be an executor object (with submit() and shutdown()) or one of the"
        f" names {', '.join(EXECUTOR_NAMES)}; got {spec!r} of type {type(spec).__name__}"
    )


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
    if spec is None or spec == "greenthread":
        return _DEFAULT_GREEN_WORKERS if max_workers is None else max_workers
    return None


def make_executor(
    spec: Executor | str | None,
    max_workers: int | None = None,
    hub: Hub | str | None = None,
) -> tuple[Executor, bool]:
    """Return ``(executor, owned)`` for an engine's ``executor`` option.

    * an executor object (anything with ``submit`` and ``shutdown``, e.g. a
      ``concurrent.futures`` or futurist pool) is used as it is, and ``owned``
      is ``False``: the caller must not shut it down, since other engines may
      share it;
    * a name (``EXECUTOR_NAMES``) creates a new executor that the caller owns
      (``owned`` is ``True``) and must shut down: ``'greenthread'`` a
      :class:`GreenExecutor` on ``hub``, ``'thread'`` a :class:`ThreadExecutor`,
      ``'process'`` a :class:`ProcessExecutor`, ``'offload'`` an
      :class:`OffloadExecutor` (native threads even under a green hub),
      ``'synchronous'`` a :class:`SynchronousExecutor`;
    * ``None`` picks by hub (``default_executor_name``).

    ``max_workers=None`` means each kind's default (1000 green threads; the
    standard library's defaults for threads and processes). ``hub`` (a hub
    or a hub name) matters only for ``None`` and the green and offload executors.

    Raises:
        UnknownExecutorError: ``spec`` is a string that is not a valid name.
        InvalidExecutorError: ``spec`` is neither a string nor an executor.
        GreenHubRequiredError: a green executor is asked for on the threading hub.
    """
    if spec is None:
        resolved = resolve_hub(hub)
        return EXECUTORS[default_executor_name(resolved)](max_workers, resolved), True
    problem = executor_problem(spec)
    if problem is not None:
        raise (UnknownExecutorError if isinstance(spec, str) else InvalidExecutorError)(problem)
    if isinstance(spec, str):
        return EXECUTORS[spec](max_workers, hub), True
    return spec, False

"""``EngineOptions``: every engine option, typed and validated once at ``load()``."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from typing import Any, Final

from greenflow.exceptions import InvalidOptionError
from greenflow.masking import mask_conf

__all__ = ["ENGINE_KINDS", "EngineOptions"]

#: Engine kinds ``load()`` accepts, with their aliases.
ENGINE_KINDS: Final = {
    "serial": "serial",
    "default": "serial",
    "parallel": "parallel",
    # TaskFlow's name: a parallel engine whose executor object sends tasks to remote workers.
    "worker-based": "parallel",
    "workers": "parallel",
}


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How an engine runs. Unknown or mistyped options raise ``InvalidOptionError``.

    - ``engine``: ``'serial'`` (atoms one at a time, in the caller) or ``'parallel'``
      (independent atoms at once on ``executor``); ``'worker-based'`` (or
      ``'workers'``) is ``'parallel'`` with a ``greenflow.workers.WorkerExecutor``.
    - ``executor``: an executor object (shared, never shut down by the engine) or a
      name: ``'serial'``/``'synchronous'``, ``'thread'``/``'threaded'``,
      ``'process'``, ``'greenthread'``/``'greenthreaded'``.
    - ``max_workers``: size of an executor the engine creates from a name.
    - ``hub``: ``'gevent'``, ``'eventlet'`` or ``'threading'`` (or a hub object);
      ``None`` selects by configuration (see ``greenflow.hubs``).
    - ``defer_reverts``: when a retry gives up with REVERT and no enclosing retry
      decides otherwise, revert the whole flow instead of only the retry's flow.
    - ``never_resolve``: on a failure, neither revert nor retry; end in FAILURE.
    - ``inject_transient``: values given as ``store=`` are kept in memory only
      (not written to the backend).
    """

    engine: str = "serial"
    executor: Any = None
    max_workers: int | None = None
    hub: Any = None
    defer_reverts: bool = False
    never_resolve: bool = False
    inject_transient: bool = True

    @classmethod
    def build(cls, engine: Any = "serial", engine_conf: Any = None, **options: Any) -> EngineOptions:
        """Merge the legacy ``engine_conf`` (a kind or a dict with ``'engine'``) and keyword options."""
        if engine == "serial" and engine_conf is None and not options:
            return _DEFAULT
        merged: dict[str, Any] = {}
        if engine_conf is not None:
            if isinstance(engine_conf, str):
                merged["engine"] = engine_conf
            elif isinstance(engine_conf, dict):
                merged.update(engine_conf)
            else:
                raise InvalidOptionError(
                    "engine_conf must be an engine name or a dict with an 'engine' key, "
                    f"got {mask_conf(engine_conf)!r}"
                )
        if engine is not None and (engine != "serial" or "engine" not in merged):
            merged["engine"] = engine
        merged.update(options)
        known = _KNOWN
        for key in merged:
            if key not in known:
                hint = difflib.get_close_matches(key, sorted(known), n=1)
                extra = f"; did you mean {hint[0]!r}?" if hint else ""
                raise InvalidOptionError(f"unknown engine option {key!r}{extra} (known: {sorted(known)})")
        kind = merged.get("engine", "serial")
        if not isinstance(kind, str) or kind not in ENGINE_KINDS:
            raise InvalidOptionError(f"unknown engine {kind!r}; choose one of {sorted(ENGINE_KINDS)}")
        if kind in ("worker-based", "workers") and (
            merged.get("executor") is None or isinstance(merged["executor"], str)
        ):
            raise InvalidOptionError(
                f"engine {kind!r} needs the workers to send tasks to: pass "
                "executor=greenflow.workers.WorkerExecutor(url, topics=[...])"
            )
        merged["engine"] = ENGINE_KINDS[kind]
        for flag in ("defer_reverts", "never_resolve", "inject_transient"):
            if flag in merged and not isinstance(merged[flag], bool):
                raise InvalidOptionError(
                    f"engine option {flag!r} must be True or False, got {merged[flag]!r}"
                )
        workers = merged.get("max_workers")
        if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
            raise InvalidOptionError(f"engine option 'max_workers' must be an integer >= 1, got {workers!r}")
        hub = merged.get("hub")
        if hub is not None and not isinstance(hub, str) and not callable(getattr(hub, "new_wakeup", None)):
            raise InvalidOptionError(f"engine option 'hub' must be a hub name or a hub, got {hub!r}")
        return cls(**merged)


_KNOWN: Final = frozenset(f.name for f in fields(EngineOptions))
_DEFAULT: Final = EngineOptions()

"""``EngineOptions``: every engine option, typed and validated once at ``load()``."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from typing import Any, Final

from greenflow.exceptions import InvalidOptionError
from greenflow.executors import executor_problem
from greenflow.hubs import HUB_NAMES
from greenflow.masking import mask_conf

__all__ = ["ENGINE_KINDS", "EngineOptions"]

#: Engine kinds ``load()`` accepts (TaskFlow's other spellings are compat/'s).
ENGINE_KINDS: Final = ("parallel", "serial")


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How an engine runs. Unknown or mistyped options raise ``InvalidOptionError``.

    - ``engine``: ``'serial'`` (atoms one at a time, in the caller) or ``'parallel'``
      (independent atoms at once on ``executor``; with a
      ``greenflow.workers.WorkerExecutor``, on remote workers).
    - ``executor``: an executor object (shared, never shut down by the engine: any
      ``concurrent.futures`` or futurist pool fits) or a name from
      ``greenflow.executors.EXECUTOR_NAMES``: ``'greenthread'``, ``'thread'``,
      ``'process'``, ``'offload'``, ``'synchronous'`` (atoms run inline, one at a time).
    - ``max_workers``: size of an executor the engine creates from a name; for green
      threads (``'greenthread'``, or no executor on a green hub) the most atoms the
      engine runs at once on the hub's shared green executor (it makes no pool).
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
    def build(cls, engine: Any = "serial", **options: Any) -> EngineOptions:
        """Validate ``engine`` and the keyword options once (``load()`` calls it)."""
        if engine == "serial" and not options:
            return _DEFAULT
        merged: dict[str, Any] = {"engine": engine, **options}
        known = _KNOWN
        for key in merged:
            if key not in known:
                if key == "engine_conf":
                    raise InvalidOptionError(
                        "engine_conf is TaskFlow's legacy form: pass engine='serial' or 'parallel' and "
                        "the options as keywords (the taskflow compat layer still accepts engine_conf)"
                    )
                hint = difflib.get_close_matches(key, sorted(known), n=1)
                extra = f"; did you mean {hint[0]!r}?" if hint else ""
                raise InvalidOptionError(f"unknown engine option {key!r}{extra} (known: {sorted(known)})")
        kind = merged["engine"]
        if not isinstance(kind, str) or kind not in ENGINE_KINDS:
            raise InvalidOptionError(
                f"unknown engine {mask_conf(kind)!r}; choose one of {', '.join(map(repr, ENGINE_KINDS))} "
                "(for remote workers: engine='parallel', executor=greenflow.workers.WorkerExecutor(...))"
            )
        problem = executor_problem(merged.get("executor"))
        if problem is not None:
            raise InvalidOptionError(f"engine option 'executor': {problem}")
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
        if isinstance(hub, str) and hub not in HUB_NAMES:
            raise InvalidOptionError(
                f"engine option 'hub' {hub!r:.80} is not a hub; choose one of {list(HUB_NAMES)}"
            )
        return cls(**merged)


_KNOWN: Final = frozenset(f.name for f in fields(EngineOptions))
_DEFAULT: Final = EngineOptions()

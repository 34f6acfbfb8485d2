"""Task classes served by remote workers in the worker tests (importable as ``support.worker_tasks``).

Workers instantiate them with ``name=`` only, and in a subprocess import them
by ``"support.worker_tasks:ClassName"``. What reverts receive is recorded in
``REVERTS`` (meaningful for in-process workers only).
"""

from __future__ import annotations

import os
import time
from typing import Any

from greenflow import Task

#: ``(atom name, result, {failed atom: exception text})`` per revert run in this process.
REVERTS: list[tuple[str, Any, dict[str, str]]] = []


class Add(Task):
    """Returns ``x + y``."""

    def execute(self, x: int, y: int) -> int:
        return x + y


class Double(Task):
    """Returns ``2 * total``."""

    def execute(self, total: int) -> int:
        return 2 * total


class Echo(Task):
    """Returns its name and its argument, reverting by recording what it received."""

    def execute(self, word: str) -> list[str]:
        return [self.name, word]

    def revert(self, word: str, result: Any, flow_failures: Any) -> None:
        REVERTS.append((self.name, result, {k: f.exception_str for k, f in flow_failures.items()}))


class Boom(Task):
    """Always raises ``ValueError('boom from <name>')``."""

    def execute(self) -> None:
        raise ValueError(f"boom from {self.name}")


class Exits(Task):
    """Raises ``SystemExit`` (a task calling ``sys.exit()``)."""

    def execute(self) -> None:
        raise SystemExit(3)


class Progressing(Task):
    """Reports progress 0.25 and 0.75, then returns ``'done'``."""

    def execute(self) -> str:
        self.update_progress(0.25)
        self.update_progress(0.75)
        return "done"


class Opaque(Task):
    """Returns an object JSON cannot hold."""

    def execute(self) -> object:
        return object()


class Pid(Task):
    """Returns the worker's process id."""

    def execute(self) -> int:
        return os.getpid()


class Slow(Task):
    """Sleeps ``seconds`` then returns the worker's process id (a worker killed meanwhile never replies)."""

    def execute(self, seconds: float) -> int:
        time.sleep(seconds)
        return os.getpid()


class SlowRerunnable(Slow):
    """``Slow``, declared safe to run twice: the executor re-sends it to another topic on timeout."""

    redispatch_on_timeout = True

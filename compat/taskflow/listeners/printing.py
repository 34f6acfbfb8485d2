"""``taskflow.listeners.printing.PrintingListener``: transitions printed to stdout or stderr."""

from __future__ import annotations

import sys
import traceback
from typing import Any

from taskflow.listeners.base import DEFAULT_LISTEN_FOR, DumpingListener

__all__ = ["PrintingListener"]


class PrintingListener(DumpingListener):
    """Prints each transition (and a failure's traceback) to stdout, or stderr if ``stderr=True``."""

    def __init__(
        self,
        engine: Any,
        task_listen_for: Any = DEFAULT_LISTEN_FOR,
        flow_listen_for: Any = DEFAULT_LISTEN_FOR,
        retry_listen_for: Any = DEFAULT_LISTEN_FOR,
        stderr: bool = False,
    ) -> None:
        super().__init__(engine, task_listen_for, flow_listen_for, retry_listen_for)
        self._stderr = stderr

    def _dump(self, message: str, *args: Any, **kwargs: Any) -> None:
        stream = sys.stderr if self._stderr else sys.stdout
        print(message % args, file=stream)
        exc_info = kwargs.get("exc_info")
        if exc_info is not None:
            traceback.print_exception(exc_info[0], exc_info[1], exc_info[2], file=stream)

"""``taskflow.logging``: TaskFlow's log levels and ``getLogger`` (a logger with ``trace()``).

``BLATHER``/``TRACE`` (5) sit below ``DEBUG``; programs pass them to
``logging.basicConfig(level=...)``. The loggers are the standard library's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

__all__ = [
    "BLATHER",
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "FATAL",
    "INFO",
    "NOTSET",
    "TRACE",
    "WARN",
    "WARNING",
    "getLogger",
]

#: Finer than DEBUG: what TaskFlow logs of every state transition.
BLATHER = 5
TRACE = BLATHER

CRITICAL = logging.CRITICAL
DEBUG = logging.DEBUG
ERROR = logging.ERROR
FATAL = logging.FATAL
INFO = logging.INFO
NOTSET = logging.NOTSET
WARN = logging.WARNING
WARNING = logging.WARNING


class _TraceLoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger adapter with ``trace()`` (level ``TRACE``) and TaskFlow's ``warn()``."""

    def trace(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log ``msg`` at ``TRACE``."""
        self.log(TRACE, msg, *args, **kwargs)

    def warn(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """``warning()``, under TaskFlow's old name."""
        self.warning(msg, *args, **kwargs)


def getLogger(name: str = "taskflow", extra: Mapping[str, Any] | None = None) -> _TraceLoggerAdapter:
    """The standard logger ``name`` (silent until configured) behind a ``trace()``-capable adapter."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return _TraceLoggerAdapter(logger, extra=extra)

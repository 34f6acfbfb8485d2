"""Listeners: watch an engine's transitions (log, print, time, capture).

``with PrintingListener(engine): engine.run()`` — a listener registers on
enter and deregisters on exit. Subclass ``Listener`` for your own.
"""

from greenflow.listeners._base import Listener
from greenflow.listeners._capturing import CapturingListener
from greenflow.listeners._logging import (
    MASK,
    DynamicLoggingListener,
    LoggingListener,
    PrintingListener,
    describe_event,
    mask_keys,
)
from greenflow.listeners._timing import TIMING_META, PrintingTimingListener, TimingListener

__all__ = [
    "MASK",
    "TIMING_META",
    "CapturingListener",
    "DynamicLoggingListener",
    "Listener",
    "LoggingListener",
    "PrintingListener",
    "PrintingTimingListener",
    "TimingListener",
    "describe_event",
    "mask_keys",
]

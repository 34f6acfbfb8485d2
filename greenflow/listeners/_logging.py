"""Listeners that report transitions to a logger or a stream."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from greenflow import states
from greenflow.failure import Failure
from greenflow.listeners._base import Listener
from greenflow.notifier import ANY

if TYPE_CHECKING:
    from greenflow.engines import Engine

__all__ = [
    "MASK",
    "DynamicLoggingListener",
    "LoggingListener",
    "PrintingListener",
    "describe_event",
    "mask_keys",
]

_LOG = logging.getLogger("greenflow.listeners")
_BAD_STATES = frozenset({states.FAILURE, states.REVERT_FAILURE})

#: What a masked value is logged as.
MASK = "***"


def mask_keys(data: Any, keys: Iterable[str] | frozenset[str]) -> Any:
    """A copy of ``data`` with the value of every key in ``keys`` replaced by ``MASK``.

    Goes through nested mappings, lists and tuples (a secret three levels down is
    masked too); anything else is returned as is. ``data`` itself is not changed.
    """
    keys = keys if isinstance(keys, frozenset) else frozenset(keys)
    if not keys:
        return data
    if isinstance(data, Mapping):
        return {k: MASK if k in keys else mask_keys(v, keys) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_keys(item, keys) for item in data]
    if isinstance(data, tuple):
        return tuple(mask_keys(item, keys) for item in data)
    return data


def describe_event(
    kind: str, state: str, details: Mapping[str, Any], mask_outputs_keys: frozenset[str] = frozenset()
) -> str:
    """One line for a transition: ``task 'boot' RUNNING -> SUCCESS (result: 42)``.

    Values under ``mask_outputs_keys`` in the result (at any depth) show as ``***``.
    """
    name = details.get(f"{kind}_name", "?")
    old = details.get("old_state")
    line = f"{kind} {name!r} {old} -> {state}" if old else f"{kind} {name!r} -> {state}"
    if "result" in details:
        result = details["result"]
        if isinstance(result, Failure):
            line += f" (failure: {result.exception_str})"
        else:
            line += f" (result: {mask_keys(result, mask_outputs_keys)!r})"
    return line


class LoggingListener(Listener):
    """Logs every transition at one level (DEBUG by default) to ``log``.

    ``mask_outputs_keys``: keys whose values are logged as ``***`` wherever they
    appear in a result (nested dicts, lists and tuples included).
    """

    def __init__(
        self,
        engine: Engine,
        task_listen_for: Iterable[str] | str = (ANY,),
        flow_listen_for: Iterable[str] | str = (ANY,),
        retry_listen_for: Iterable[str] | str = (ANY,),
        log: logging.Logger | None = None,
        level: int = logging.DEBUG,
        mask_outputs_keys: Iterable[str] = (),
    ) -> None:
        super().__init__(engine, task_listen_for, flow_listen_for, retry_listen_for)
        self._log = log or _LOG
        self._level = level
        self._mask_outputs_keys = frozenset(mask_outputs_keys)

    def _emit(self, kind: str, state: str, details: Mapping[str, Any]) -> None:
        line = describe_event(kind, state, details, self._mask_outputs_keys)
        self._log.log(self._level_for(state, details), "%s", line)

    def _level_for(self, state: str, details: Mapping[str, Any]) -> int:
        return self._level

    def _flow_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._emit("flow", state, details)

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._emit("task", state, details)

    def _retry_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._emit("retry", state, details)


class DynamicLoggingListener(LoggingListener):
    """Like ``LoggingListener``, but failures log at WARNING and reverts at INFO.

    A failure's traceback is logged with it, so the log shows where it came from.
    """

    def _level_for(self, state: str, details: Mapping[str, Any]) -> int:
        if state in _BAD_STATES:
            return logging.WARNING
        if state in (states.REVERTING, states.REVERTED, states.RETRYING):
            return logging.INFO
        return self._level

    def _emit(self, kind: str, state: str, details: Mapping[str, Any]) -> None:
        super()._emit(kind, state, details)
        result = details.get("result")
        if state in _BAD_STATES and isinstance(result, Failure) and result.traceback_str:
            self._log.warning("%s", result.pformat(traceback=True))


class PrintingListener(Listener):
    """Prints every transition to ``stream`` (standard output by default)."""

    def __init__(
        self,
        engine: Engine,
        task_listen_for: Iterable[str] | str = (ANY,),
        flow_listen_for: Iterable[str] | str = (ANY,),
        retry_listen_for: Iterable[str] | str = (ANY,),
        stream: TextIO | None = None,
    ) -> None:
        super().__init__(engine, task_listen_for, flow_listen_for, retry_listen_for)
        self._stream = stream

    def _print(self, kind: str, state: str, details: Mapping[str, Any]) -> None:
        print(describe_event(kind, state, details), file=self._stream or sys.stdout)

    def _flow_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._print("flow", state, details)

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._print("task", state, details)

    def _retry_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._print("retry", state, details)

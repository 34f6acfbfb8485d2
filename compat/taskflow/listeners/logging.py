"""``taskflow.listeners.logging``: ``LoggingListener`` and ``DynamicLoggingListener``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from greenflow import states
from greenflow.failure import Failure
from taskflow.listeners.base import DEFAULT_LISTEN_FOR, FINISH_STATES, DumpingListener, Listener

__all__ = ["DynamicLoggingListener", "LoggingListener"]

_LOG = logging.getLogger(__name__)


class LoggingListener(DumpingListener):
    """Logs every transition at one ``level`` (DEBUG by default) to ``log``."""

    def __init__(
        self,
        engine: Any,
        task_listen_for: Any = DEFAULT_LISTEN_FOR,
        flow_listen_for: Any = DEFAULT_LISTEN_FOR,
        retry_listen_for: Any = DEFAULT_LISTEN_FOR,
        log: logging.Logger | None = None,
        level: int = logging.DEBUG,
    ) -> None:
        super().__init__(engine, task_listen_for, flow_listen_for, retry_listen_for)
        self._logger = log or _LOG
        self._level = level

    def _dump(self, message: str, *args: Any, **kwargs: Any) -> None:
        self._logger.log(self._level, message, *args, **kwargs)


class DynamicLoggingListener(Listener):
    """Logs transitions at ``level``, and failures, reverts and retries at ``failure_level``.

    A task whose result is a ``Failure`` is always logged at ``failure_level``
    with its traceback. ``hide_inputs_outputs_of``, ``mask_inputs_keys``,
    ``mask_outputs_keys`` and ``fail_formatter`` are not supported (they raise).
    """

    def __init__(
        self,
        engine: Any,
        task_listen_for: Any = DEFAULT_LISTEN_FOR,
        flow_listen_for: Any = DEFAULT_LISTEN_FOR,
        retry_listen_for: Any = DEFAULT_LISTEN_FOR,
        log: logging.Logger | None = None,
        failure_level: int = logging.WARNING,
        level: int = logging.DEBUG,
        hide_inputs_outputs_of: Any = (),
        fail_formatter: Any = None,
        mask_inputs_keys: Any = (),
        mask_outputs_keys: Any = (),
    ) -> None:
        if hide_inputs_outputs_of or fail_formatter is not None or mask_inputs_keys or mask_outputs_keys:
            from taskflow.exceptions import NotImplementedError as _Unsupported

            raise _Unsupported(
                "DynamicLoggingListener: hide_inputs_outputs_of, fail_formatter and mask_*_keys "
                "(TaskFlow's failure formatter) are not supported by greenflow yet"
            )
        super().__init__(engine, task_listen_for, flow_listen_for, retry_listen_for)
        self._logger = log or _LOG
        self._level = level
        self._failure_level = failure_level
        self._task_levels = dict.fromkeys(
            (states.FAILURE, states.REVERTED, states.RETRYING, states.REVERT_FAILURE), failure_level
        )
        self._flow_levels = dict.fromkeys((states.FAILURE, states.REVERTED), failure_level)

    def _flow_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._logger.log(
            self._flow_levels.get(state, self._level),
            "Flow '%s' (%s) transitioned into state '%s' from state '%s'",
            details["flow_name"],
            details["flow_uuid"],
            state,
            details.get("old_state"),
        )

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        name, uuid = details["task_name"], details["task_uuid"]
        result = details.get("result")
        if "result" in details and state in FINISH_STATES and isinstance(result, Failure):
            self._logger.log(
                self._failure_level,
                "Task '%s' (%s) transitioned into state '%s' from state '%s'\n%s",
                name,
                uuid,
                state,
                details["old_state"],
                result.pformat(traceback=True),
            )
        elif "result" in details and state in FINISH_STATES:
            self._logger.log(
                self._task_levels.get(state, self._level),
                "Task '%s' (%s) transitioned into state '%s' from state '%s' with result '%s'",
                name,
                uuid,
                state,
                details["old_state"],
                result,
            )
        else:
            self._logger.log(
                self._task_levels.get(state, self._level),
                "Task '%s' (%s) transitioned into state '%s' from state '%s'",
                name,
                uuid,
                state,
                details["old_state"],
            )

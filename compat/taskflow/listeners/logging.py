"""``taskflow.listeners.logging``: ``LoggingListener`` and ``DynamicLoggingListener``."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from greenflow import states
from greenflow.atoms import Task
from greenflow.exceptions import InvalidOptionError
from greenflow.failure import Failure
from greenflow.listeners import mask_keys
from taskflow.formatters import FailureFormatter
from taskflow.listeners.base import DEFAULT_LISTEN_FOR, FINISH_STATES, DumpingListener, Listener

__all__ = ["DynamicLoggingListener", "LoggingListener"]

_LOG = logging.getLogger(__name__)


class LoggingListener(DumpingListener):
    """Logs every transition at one ``level`` (DEBUG by default) to ``log``.

    ``mask_outputs_keys`` (greenflow's addition): values under these keys in a
    task's result are logged as ``***``, at any depth.
    """

    def __init__(
        self,
        engine: Any,
        task_listen_for: Any = DEFAULT_LISTEN_FOR,
        flow_listen_for: Any = DEFAULT_LISTEN_FOR,
        retry_listen_for: Any = DEFAULT_LISTEN_FOR,
        log: logging.Logger | None = None,
        level: int = logging.DEBUG,
        mask_outputs_keys: Iterable[str] = (),
    ) -> None:
        super().__init__(engine, task_listen_for, flow_listen_for, retry_listen_for)
        self._logger = log or _LOG
        self._level = level
        self._mask_outputs_keys = frozenset(mask_outputs_keys)

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        if self._mask_outputs_keys and "result" in details:
            details = {**details, "result": mask_keys(details["result"], self._mask_outputs_keys)}
        super()._task_receiver(state, details)

    def _dump(self, message: str, *args: Any, **kwargs: Any) -> None:
        self._logger.log(self._level, message, *args, **kwargs)


def _make_matcher(task_name: str) -> Callable[[Any], bool]:
    """Matches the formatter's node whose item is the task named ``task_name``."""

    def _task_matcher(node: Any) -> bool:
        return isinstance(node.item, Task) and node.item.name == task_name

    return _task_matcher


class DynamicLoggingListener(Listener):
    """Logs transitions at ``level``, and failures, reverts and retries at ``failure_level``.

    A task whose result is a ``Failure`` is logged at ``failure_level`` with its
    traceback and what ``fail_formatter`` (a ``taskflow.formatters.FailureFormatter``
    by default) adds: the atoms that ran before it with their arguments and results.
    ``hide_inputs_outputs_of`` names atoms whose arguments and results are never
    logged; values under ``mask_inputs_keys`` / ``mask_outputs_keys`` are logged as
    ``***`` at any depth of nested dicts and lists -- in the formatter's output and
    in the result a successful task logs (Octavia masks ``certificate``,
    ``private_key``, ``passphrase`` this way).
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
        hide_inputs_outputs_of: Iterable[str] = (),
        fail_formatter: Any = None,
        mask_inputs_keys: Iterable[str] = (),
        mask_outputs_keys: Iterable[str] = (),
    ) -> None:
        super().__init__(engine, task_listen_for, flow_listen_for, retry_listen_for)
        self._logger = log or _LOG
        self._level = level
        self._failure_level = failure_level
        self._task_levels = dict.fromkeys(
            (states.FAILURE, states.REVERTED, states.RETRYING, states.REVERT_FAILURE), failure_level
        )
        self._flow_levels = dict.fromkeys((states.FAILURE, states.REVERTED), failure_level)
        self._hide_inputs_outputs_of = frozenset(hide_inputs_outputs_of)
        self._mask_inputs_keys = frozenset(mask_inputs_keys)
        self._mask_outputs_keys = frozenset(mask_outputs_keys)
        if fail_formatter is None:
            fail_formatter = FailureFormatter(
                engine,
                hide_inputs_outputs_of=self._hide_inputs_outputs_of,
                mask_inputs_keys=self._mask_inputs_keys,
                mask_outputs_keys=self._mask_outputs_keys,
            )
        elif not callable(getattr(fail_formatter, "format", None)):
            raise InvalidOptionError(
                f"DynamicLoggingListener: fail_formatter must have a format(fail, atom_matcher) "
                f"method (like taskflow.formatters.FailureFormatter), got {fail_formatter!r}"
            )
        self._fail_formatter = fail_formatter

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
        level = self._task_levels.get(state, self._level)
        message = "Task '%s' (%s) transitioned into state '%s' from state '%s'"
        args: tuple[Any, ...] = (name, uuid, state, details["old_state"])
        if "result" not in details or state not in FINISH_STATES:
            self._logger.log(level, message, *args)
            return
        result = details["result"]
        if isinstance(result, Failure):
            exc_info, fail_details = self._fail_formatter.format(result, _make_matcher(name))
            if fail_details:
                message, args = message + "%s%s", (*args, os.linesep, fail_details)
            self._logger.log(self._failure_level, message, *args, exc_info=exc_info)
            return
        show_result = self._logger.isEnabledFor(self._level) or state == states.FAILURE
        if show_result and name not in self._hide_inputs_outputs_of:
            message, args = message + " with result '%s'", (*args, mask_keys(result, self._mask_outputs_keys))
        self._logger.log(level, message, *args)

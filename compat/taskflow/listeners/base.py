"""``taskflow.listeners.base``: ``Listener`` and ``DumpingListener`` on greenflow's listener base.

Subclasses override ``_flow_receiver``, ``_task_receiver`` and
``_retry_receiver`` (each gets ``(state, details)``), as in TaskFlow.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from greenflow import states
from greenflow.failure import Failure
from greenflow.listeners import Listener as _Listener
from greenflow.notifier import ANY

__all__ = ["DEFAULT_LISTEN_FOR", "FINISH_STATES", "DumpingListener", "Listener"]

#: Listen for every state unless told otherwise.
DEFAULT_LISTEN_FOR = (ANY,)
#: States after which an atom has a result (or a Failure) in its details.
FINISH_STATES = (states.FAILURE, states.SUCCESS, states.REVERTED, states.REVERT_FAILURE)


def _engine_of(engine: Any) -> Any:
    """greenflow's listeners watch the greenflow engine a compat engine wraps."""
    return getattr(engine, "greenflow_engine", engine)


class Listener(_Listener):
    """Receives the flow, task and retry state changes of one engine (a context manager)."""

    def __init__(
        self,
        engine: Any,
        task_listen_for: Any = DEFAULT_LISTEN_FOR,
        flow_listen_for: Any = DEFAULT_LISTEN_FOR,
        retry_listen_for: Any = DEFAULT_LISTEN_FOR,
    ) -> None:
        super().__init__(_engine_of(engine), task_listen_for, flow_listen_for, retry_listen_for)
        # The engine as the program knows it: TaskFlow's listeners expose ``self._engine``.
        self._engine = engine

    @property
    def engine(self) -> Any:
        """The engine being watched."""
        return self._engine


class DumpingListener(Listener, metaclass=abc.ABCMeta):
    """Formats each transition as a message and hands it to ``_dump(message, *args, **kwargs)``."""

    @abc.abstractmethod
    def _dump(self, message: str, *args: Any, **kwargs: Any) -> None:
        """Write one templated message (``message % args``) somewhere."""

    def _flow_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        self._dump(
            "%s has moved flow '%s' (%s) into state '%s' from state '%s'",
            self._engine,
            details["flow_name"],
            details["flow_uuid"],
            state,
            details["old_state"],
        )

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        if state not in FINISH_STATES:
            self._dump(
                "%s has moved task '%s' (%s) into state '%s' from state '%s'",
                self._engine,
                details["task_name"],
                details["task_uuid"],
                state,
                details["old_state"],
            )
            return
        result = details.get("result")
        failed = isinstance(result, Failure)
        exc_info = tuple(result.exc_info) if failed and result.exc_info else None
        self._dump(
            "%s has moved task '%s' (%s) into state '%s' from state '%s' with result '%s' (failure=%s)",
            self._engine,
            details["task_name"],
            details["task_uuid"],
            state,
            details["old_state"],
            result,
            failed,
            exc_info=exc_info,
        )

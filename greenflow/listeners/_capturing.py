"""``CapturingListener``: records every transition in lists, for tests and debugging."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from greenflow.listeners._base import Listener
from greenflow.notifier import ANY

if TYPE_CHECKING:
    from greenflow.engines import Engine

__all__ = ["CapturingListener"]


class CapturingListener(Listener):
    """Keeps ``(name, state)`` pairs per kind, and ``values``: all of them as ``'name.kind STATE'``.

    Kinds are ``f`` (flow), ``t`` (task) and ``r`` (retry), so ``values`` reads
    like ``['flow.f RUNNING', 'boot.t RUNNING', 'boot.t SUCCESS', ...]``.
    ``skip_tasks``/``skip_retries`` leave those atoms out.
    """

    def __init__(
        self,
        engine: Engine,
        task_listen_for: Iterable[str] | str = (ANY,),
        flow_listen_for: Iterable[str] | str = (ANY,),
        retry_listen_for: Iterable[str] | str = (ANY,),
        capture_flow: bool = True,
        capture_task: bool = True,
        capture_retry: bool = True,
        skip_tasks: Iterable[str] = (),
        skip_retries: Iterable[str] = (),
    ) -> None:
        super().__init__(
            engine,
            task_listen_for if capture_task else (),
            flow_listen_for if capture_flow else (),
            retry_listen_for if capture_retry else (),
        )
        self._skip_tasks = frozenset(skip_tasks)
        self._skip_retries = frozenset(skip_retries)
        self.flow_events: list[tuple[str, str]] = []
        self.task_events: list[tuple[str, str]] = []
        self.retry_events: list[tuple[str, str]] = []
        self.progress: list[tuple[str, float]] = []
        self.values: list[str] = []

    def _flow_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        name = details["flow_name"]
        self.flow_events.append((name, state))
        self.values.append(f"{name}.f {state}")

    def _task_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        name = details["task_name"]
        if name not in self._skip_tasks:
            self.task_events.append((name, state))
            self.values.append(f"{name}.t {state}")

    def _retry_receiver(self, state: str, details: Mapping[str, Any]) -> None:
        name = details["retry_name"]
        if name not in self._skip_retries:
            self.retry_events.append((name, state))
            self.values.append(f"{name}.r {state}")

    def _progress_receiver(self, details: Mapping[str, Any]) -> None:
        self.progress.append((details["task_name"], details["progress"]))

    def reset(self) -> None:
        """Forget everything captured."""
        self.flow_events.clear()
        self.task_events.clear()
        self.retry_events.clear()
        self.progress.clear()
        self.values.clear()

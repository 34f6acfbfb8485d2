"""``taskflow.engines.worker_based.worker``: a worker serving task classes to worker-based engines."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from typing import Any

from greenflow.atoms import Task
from greenflow.workers import Worker as _GreenflowWorker

__all__ = ["Worker"]


def _task_classes(tasks: Iterable[Any]) -> list[Any]:
    """TaskFlow's ``tasks``: classes, ``'module:Class'`` / ``'module.Class'`` names, or module names."""
    out: list[Any] = []
    for item in tasks:
        if inspect.isclass(item):
            out.append(item)
            continue
        if not isinstance(item, str):
            raise TypeError(f"tasks must be task classes or their names, got {item!r}")
        if ":" in item:
            out.append(item)
            continue
        try:
            module = importlib.import_module(item)
        except ImportError:
            module_name, _, attr = item.rpartition(".")
            out.append(f"{module_name}:{attr}")
            continue
        found = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, Task) and obj.__module__ == module.__name__
        ]
        if not found:
            raise ValueError(f"module {item!r} defines no task classes to serve")
        out.extend(found)
    return out


class Worker:
    """Consumes requests for ``topic`` on ``exchange`` and runs the ``tasks`` it serves."""

    def __init__(
        self,
        exchange: str,
        topic: str,
        tasks: Iterable[Any],
        executor: Any = None,
        threads_count: int | None = None,
        url: str | None = None,
        transport: str | None = None,
        transport_options: dict[str, Any] | None = None,
        retry_options: Any = None,
    ) -> None:
        if url is None:
            if transport != "memory":
                raise TypeError("a worker needs url= (the broker, e.g. 'amqp://guest:guest@host//')")
            url = "memory://"
        if retry_options is not None:
            raise TypeError(
                "retry_options (the connection retry policy) is not supported by greenflow's workers"
            )
        self._worker = _GreenflowWorker(
            url,
            exchange,
            topic=topic,
            tasks=_task_classes(tasks),
            executor=executor,
            transport_options=transport_options,
        )

    def run(self, banner_writer: Any = None) -> None:
        """Serve requests until ``stop()`` (blocks; TaskFlow programs run it in a thread)."""
        self._worker.run()

    def wait(self, timeout: float = 30.0) -> None:
        """Return once the worker is consuming requests (TaskFlow's meaning of ``wait``)."""
        self._worker.wait_started(timeout)

    def stop(self) -> None:
        """Stop serving."""
        self._worker.stop()

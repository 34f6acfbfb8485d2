"""``taskflow.patterns.graph_flow``: greenflow's ``GraphFlow`` with TaskFlow's ``add()`` options."""

from __future__ import annotations

from typing import Any

from greenflow.patterns import GraphFlow
from taskflow.exceptions import NotImplementedError as _Unsupported

__all__ = ["Flow", "TargetedFlow"]


class Flow(GraphFlow):
    """A graph flow: items ordered by their data and by ``link(u, v, decider=, decider_depth=)``."""

    def add(self, *items: Any, resolve_requires: bool = True, resolve_existing: bool = True) -> Flow:
        """Add items; greenflow always orders them by the data they require and provide.

        TaskFlow's ``resolve_requires=False``/``resolve_existing=False`` (add
        without inferring data-flow edges) cannot be honoured and raise.
        """
        if not resolve_requires or not resolve_existing:
            raise _Unsupported(
                f"graph flow {self.name!r}: add(resolve_requires=False / resolve_existing=False) is not "
                f"supported by greenflow; it always orders items by the data they require and provide"
            )
        super().add(*items)
        return self


class TargetedFlow(Flow):
    """TaskFlow's graph flow that runs only what a target needs: not supported by greenflow yet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise _Unsupported(
            "taskflow.patterns.graph_flow.TargetedFlow (running only the atoms a target needs) "
            "is not supported by greenflow yet; use graph_flow.Flow"
        )

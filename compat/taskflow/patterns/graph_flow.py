"""``taskflow.patterns.graph_flow``: greenflow's ``GraphFlow`` with TaskFlow's messages and names.

The behaviour (data links made as items are added, ``resolve_requires`` and
``resolve_existing``, cycles refused when made, targets) is greenflow's own;
this module words the errors as TaskFlow does, which its users match on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greenflow.exceptions import CycleError, InvalidOptionError
from greenflow.patterns import Depth, GraphFlow
from taskflow.flow import TaskFlowSpelling

__all__ = ["Flow", "TargetedFlow"]

_NO_ORDER = (
    "No path through the node(s) in the graph produces an ordering that will allow for logical edge traversal"
)


class Flow(TaskFlowSpelling, GraphFlow):
    """A graph flow: items ordered by their data and by ``link(u, v, decider=, decider_depth=)``."""

    def add(self, *items: Any, resolve_requires: bool = True, resolve_existing: bool = True) -> Flow:
        try:
            super().add(*items, resolve_requires=resolve_requires, resolve_existing=resolve_existing)
        except CycleError as exc:
            raise CycleError(f"{_NO_ORDER}: {exc}") from None
        return self

    def link(
        self,
        u: Any,
        v: Any,
        decider: Callable[[dict[str, Any]], Any] | None = None,
        decider_depth: Depth | str | None = None,
    ) -> Flow:
        for item, way in ((u, "from"), (v, "to")):
            if item not in self:
                raise InvalidOptionError(f"Node {item} not found to link {way} (in graph flow {self.name!r})")
        try:
            super().link(u, v, decider=decider, decider_depth=decider_depth)
        except CycleError as exc:
            raise CycleError(f"{_NO_ORDER}: {exc}") from None
        return self


class TargetedFlow(Flow):
    """A graph flow run only as far as its target: ``set_target(item)``, ``reset_target()``."""

    def set_target(self, item: Any) -> None:
        if item not in self:
            raise InvalidOptionError(f"Node {item} not found (in graph flow {self.name!r})")
        super().set_target(item)

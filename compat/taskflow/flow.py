"""``taskflow.flow``: the flow base class, the link metadata keys, and TaskFlow's flow spellings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from greenflow.atoms import Atom, Retry
from greenflow.patterns import Flow

LINK_INVARIANT = "invariant"
LINK_MANUAL = "manual"
LINK_RETRY = "retry"
LINK_REASONS = "reasons"
LINK_DECIDER = "decider"
LINK_DECIDER_DEPTH = "decider_depth"

__all__ = [
    "LINK_DECIDER",
    "LINK_DECIDER_DEPTH",
    "LINK_INVARIANT",
    "LINK_MANUAL",
    "LINK_REASONS",
    "LINK_RETRY",
    "Flow",
]

_PATTERNS_PREFIX = "taskflow.patterns."


class TaskFlowSpelling:
    """What TaskFlow's flow patterns add to greenflow's: their ``str()`` and ``iter_nodes()``.

    Mixed into the ``Flow`` classes of ``taskflow.patterns.*`` (before greenflow's pattern).
    """

    name: str
    retry: Any

    def __init__(self, name: str, retry: Any = None) -> None:
        # TaskFlow takes any atom as a flow's retry (its requires/provides count); greenflow's
        # Flow() refuses what is not a Retry, so such a one is set after, and refused when compiled.
        odd = isinstance(retry, Atom) and not isinstance(retry, Retry)
        super().__init__(name, None if odd else retry)  # type: ignore[call-arg]
        if odd:
            self.retry = retry

    def __str__(self) -> str:
        cls = type(self)
        qualified = f"{cls.__module__}.{cls.__qualname__}".removeprefix(_PATTERNS_PREFIX)
        return f'"{qualified}: {self.name}(len={len(self)})"'  # type: ignore[arg-type]

    def iter_nodes(self) -> Iterator[tuple[Any, dict[str, Any]]]:
        """Each item of the flow with its (always empty) node metadata, in the order added."""
        for item in self:  # type: ignore[attr-defined]
            yield item, {}

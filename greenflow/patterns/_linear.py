"""``LinearFlow``: its items run one after another, in the order added."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, ClassVar

from greenflow.patterns._flow import Flow, Item

__all__ = ["LinearFlow"]


class LinearFlow(Flow):
    """Runs its items in order; each sees what the earlier ones provided."""

    pattern: ClassVar[str] = "linear"

    def iter_links(self) -> Iterator[tuple[Item, Item, dict[str, Any]]]:
        """Each item to the next; ``"invariant"`` marks an order the pattern itself imposes."""
        for before, after in itertools.pairwise(self._children):
            yield before, after, {"invariant": True}

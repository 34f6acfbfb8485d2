"""``UnorderedFlow``: its items have no order among themselves and may run at once."""

from __future__ import annotations

from typing import ClassVar

from greenflow.patterns._flow import Flow

__all__ = ["UnorderedFlow"]


class UnorderedFlow(Flow):
    """Runs its items in any order (concurrently on a parallel engine).

    Its items do not see one another's results: a requirement is looked up
    in what ran before the flow (or injected values), never in a sibling.
    """

    pattern: ClassVar[str] = "unordered"

"""``GraphFlow``: items ordered by data flow and by explicit links, with deciders."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from greenflow.exceptions import InvalidOptionError
from greenflow.patterns._flow import Flow, Item, _describe

__all__ = ["Depth", "GraphFlow"]


class Depth(str, enum.Enum):
    """How far a decider's "no" reaches past the link's target.

    The target is the atom the link leads to (for a link to a flow, each of
    its first atoms). ``ALL``: the target and everything that runs after it;
    ``FLOW``: the target and the tasks after it in its own flow, not entering
    nested flows nor leaving the flow; ``NEIGHBORS``: the target and the tasks
    of its own flow right after it; ``ATOM``: the target only. When several
    deciders guard one atom, each is asked and the widest "no" is followed.
    """

    ALL = "ALL"
    FLOW = "FLOW"
    NEIGHBORS = "NEIGHBORS"
    ATOM = "ATOM"

    @classmethod
    def translate(cls, value: Any) -> Depth:
        """Accept a ``Depth`` or its name (any case)."""
        if isinstance(value, Depth):
            return value
        if isinstance(value, str):
            try:
                return cls(value.upper())
            except ValueError:
                pass
        raise InvalidOptionError(f"decider_depth must be one of {[d.value for d in cls]}, got {value!r}")


class GraphFlow(Flow):
    """Orders its items by what they require and provide, plus explicit ``link()`` calls.

    An item that requires a symbol another item of this flow provides runs
    after it. ``link(u, v, decider=f)`` also makes ``v`` wait for ``u``; if
    ``f(history)`` returns false, ``v`` and, per ``decider_depth``, what
    follows it are ignored. ``history`` maps the names of the atoms of every
    link guarding ``v`` that has a decider to their results; a decider whose
    source atoms were all ignored is not asked.
    """

    pattern: ClassVar[str] = "graph"

    def __init__(self, name: str, retry: Any = None) -> None:
        super().__init__(name, retry)
        self._links: dict[tuple[int, int], tuple[Item, Item, dict[str, Any]]] = {}

    def link(
        self,
        u: Item,
        v: Item,
        decider: Callable[[dict[str, Any]], Any] | None = None,
        decider_depth: Depth | str | None = None,
    ) -> GraphFlow:
        """Make ``v`` run after ``u`` (both must already be in this flow)."""
        for item in (u, v):
            if id(item) not in self._child_ids:
                raise InvalidOptionError(
                    f"graph flow {self.name!r} cannot link {_describe(item)}: add it to the flow first"
                )
        if u is v:
            raise InvalidOptionError(f"graph flow {self.name!r}: cannot link {_describe(u)} to itself")
        if decider is not None and not callable(decider):
            raise InvalidOptionError(f"graph flow {self.name!r}: decider must be callable, got {decider!r}")
        meta: dict[str, Any] = {"manual": True}
        if decider is not None:
            meta["decider"] = decider
            try:
                meta["decider_depth"] = Depth.translate(decider_depth or Depth.ALL)
            except InvalidOptionError as exc:
                raise InvalidOptionError(f"graph flow {self.name!r}: {exc}") from None
        elif decider_depth is not None:
            raise InvalidOptionError(f"graph flow {self.name!r}: decider_depth given without a decider")
        self._links[(id(u), id(v))] = (u, v, meta)
        self._bump()
        return self

    def iter_links(self) -> Iterator[tuple[Item, Item, dict[str, Any]]]:
        return iter(self._links.values())

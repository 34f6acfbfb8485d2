"""``GraphFlow``: items ordered by data flow and by explicit links, with deciders."""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from greenflow.exceptions import AmbiguousDependencyError, CycleError, InvalidOptionError
from greenflow.patterns._flow import Flow, Item, _describe, _needs

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

    When an item is added, each symbol it requires that one item already in
    the flow provides links that provider to it, and each symbol it provides
    that an item already in the flow still needs links it to that item (the
    link's metadata lists the symbols under ``"reasons"``). Two possible
    providers of a needed symbol raise ``AmbiguousDependencyError``, and an add
    or link that would make a cycle raises ``CycleError``, leaving the flow as
    it was. ``link(u, v, decider=f)`` also makes ``v`` wait for ``u``; if
    ``f(history)`` returns false, ``v`` and, per ``decider_depth``, what
    follows it are ignored. ``history`` maps the names of the atoms of every
    link guarding ``v`` that has a decider to their results; a decider whose
    source atoms were all ignored is not asked. ``set_target(item)`` restricts
    the flow to ``item`` and what it depends on (directly or not).
    """

    pattern: ClassVar[str] = "graph"

    def __init__(self, name: str, retry: Any = None) -> None:
        super().__init__(name, retry)
        # Links in the order made: (id(u), id(v)) -> (u, v, metadata), and both directions indexed.
        self._links: dict[tuple[int, int], tuple[Item, Item, dict[str, Any]]] = {}
        self._succs: dict[int, list[Item]] = {}
        self._preds: dict[int, list[Item]] = {}
        self._target: Item | None = None
        self._view: tuple[int, list[Item], frozenset[int]] | None = None

    # -- building -------------------------------------------------------------------------

    def add(self, *items: Item, resolve_requires: bool = True, resolve_existing: bool = True) -> GraphFlow:
        """Add items, linking them to the items already here by the data they require and provide.

        ``resolve_requires=False``: the new items' requirements are not linked
        to providers (they come from outside the flow). ``resolve_existing=False``:
        what the new items provide is not linked to items already in the flow.
        """
        self._check_new(items)
        if not items:
            return self
        new: dict[tuple[int, int], tuple[Item, Item, dict[str, Any]]] = {}
        for u, v, symbol in self._data_links(items, resolve_requires, resolve_existing):
            key = (id(u), id(v))
            reasons = new[key][2]["reasons"] if key in new else frozenset()
            new[key] = (u, v, {"reasons": reasons | {symbol}})
        extra: dict[int, list[Item]] = {}
        for u, v, _ in new.values():
            extra.setdefault(id(u), []).append(v)
        self._refuse_cycle(items, lambda item: [*self._succs.get(id(item), ()), *extra.get(id(item), ())])
        self._append(items)
        for key, link in new.items():
            self._put_link(key, link)
        self._bump()
        return self

    def _data_links(
        self, items: tuple[Item, ...], resolve_requires: bool, resolve_existing: bool
    ) -> Iterator[tuple[Item, Item, str]]:
        """``(provider, consumer, symbol)`` for each data link adding ``items`` makes."""
        retry_provides = self.retry.provides if self.retry is not None else frozenset()
        required: dict[str, list[Item]] = {}
        provided: dict[str, list[Item]] = {}
        for child in self._children:
            for symbol in self._unsatisfied(child, retry_provides):
                required.setdefault(symbol, []).append(child)
            for symbol in child.provides:
                provided.setdefault(symbol, []).append(child)
        for item in items:
            if resolve_requires:
                # A new item has no links yet: all it needs but the retry's symbols is unmet.
                for symbol in sorted(_needs(item) - retry_provides):
                    providers = provided.get(symbol)
                    if not providers:
                        required.setdefault(symbol, []).append(item)
                        continue
                    if len(providers) > 1:
                        names = ", ".join(sorted(repr(p.name) for p in providers))
                        raise AmbiguousDependencyError(
                            f"{_describe(item)} in graph flow {self.name!r} requires {symbol!r}, which "
                            f"several items provide: {names}; rename a provided symbol or rebind the "
                            f"requirement"
                        )
                    yield providers[0], item, symbol
            for symbol in sorted(item.provides):
                provided.setdefault(symbol, []).append(item)
                if resolve_existing:
                    waiting = required.get(symbol)
                    if waiting:
                        for consumer in [c for c in waiting if c is not item]:
                            yield item, consumer, symbol
                        required[symbol] = [c for c in waiting if c is item]

    def _unsatisfied(self, item: Item, retry_provides: frozenset[str]) -> set[str]:
        """What ``item`` needs that neither the retry nor an item ordered before it provides."""
        needed = set(_needs(item) - retry_provides)
        if not needed:
            return needed
        preds = self._preds
        seen = {id(item)}
        queue = deque(preds.get(id(item), ()))
        while queue and needed:
            pred = queue.popleft()
            if id(pred) in seen:
                continue
            seen.add(id(pred))
            needed -= pred.provides
            queue.extend(preds.get(id(pred), ()))
        return needed

    def link(
        self,
        u: Item,
        v: Item,
        decider: Callable[[dict[str, Any]], Any] | None = None,
        decider_depth: Depth | str | None = None,
    ) -> GraphFlow:
        """Make ``v`` run after ``u`` (both must already be in this flow).

        Linking a pair again replaces the link's decider (the data it carries stays).
        """
        for item in (u, v):
            if item not in self:
                raise InvalidOptionError(
                    f"graph flow {self.name!r} cannot link {_describe(item)}: add it to the flow first"
                )
        if u is v:
            raise InvalidOptionError(f"graph flow {self.name!r}: cannot link {_describe(u)} to itself")
        if decider is not None and not callable(decider):
            raise InvalidOptionError(f"graph flow {self.name!r}: decider must be callable, got {decider!r}")
        key = (id(u), id(v))
        old = self._links.get(key)
        meta: dict[str, Any] = {"reasons": old[2]["reasons"]} if old and "reasons" in old[2] else {}
        meta["manual"] = True
        if decider is not None:
            meta["decider"] = decider
            try:
                meta["decider_depth"] = Depth.translate(Depth.ALL if decider_depth is None else decider_depth)
            except InvalidOptionError as exc:
                raise InvalidOptionError(f"graph flow {self.name!r}: {exc}") from None
        elif decider_depth is not None:
            raise InvalidOptionError(f"graph flow {self.name!r}: decider_depth given without a decider")
        if old is None:  # only a path from ``v`` back to ``u`` can close a cycle through the new link
            self._refuse_cycle(
                (v,), lambda item: [*self._succs.get(id(item), ()), *([v] if item is u else ())]
            )
        self._put_link(key, (u, v, meta))
        self._bump()
        return self

    def _put_link(self, key: tuple[int, int], link: tuple[Item, Item, dict[str, Any]]) -> None:
        u, v, meta = link
        old = self._links.get(key)
        if old is None:
            self._succs.setdefault(id(u), []).append(v)
            self._preds.setdefault(id(v), []).append(u)
            self._links[key] = link
        else:
            self._links[key] = (u, v, {**old[2], **meta})

    def _refuse_cycle(self, roots: tuple[Item, ...], succs_of: Callable[[Item], list[Item]]) -> None:
        cycle = _find_cycle(roots, succs_of)
        if cycle is not None:
            names = " -> ".join(repr(item.name) for item in cycle)
            raise CycleError(f"graph flow {self.name!r} has a cycle: {names}")

    # -- targeting ------------------------------------------------------------------------

    @property
    def target(self) -> Item | None:
        """The item this flow is restricted to (with what it depends on), or ``None``."""
        return self._target

    def set_target(self, item: Item) -> None:
        """Restrict the flow to ``item`` and the items it depends on, directly or not.

        The others stay in the flow (links and later adds still see them) but
        are not iterated, counted, compiled or run, until ``reset_target()``.
        """
        if item not in self:
            raise InvalidOptionError(
                f"graph flow {self.name!r} cannot target {_describe(item)}: add it to the flow first"
            )
        self._target = item
        self._bump()

    def reset_target(self) -> None:
        """Make every item of the flow part of it again."""
        self._target = None
        self._bump()

    def _visible(self) -> tuple[list[Item], frozenset[int] | None]:
        """The items the flow is made of now, and their ids (``None``: every item)."""
        target = self._target
        if target is None:
            return self._children, None
        view = self._view
        if view is None or view[0] != self._version:
            keep = {id(target)}
            queue = [target]
            while queue:
                for pred in self._preds.get(id(queue.pop()), ()):
                    if id(pred) not in keep:
                        keep.add(id(pred))
                        queue.append(pred)
            view = (self._version, [c for c in self._children if id(c) in keep], frozenset(keep))
            self._view = view
        return view[1], view[2]

    # -- reading --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Item]:
        return iter(self._visible()[0])

    def __len__(self) -> int:
        return len(self._visible()[0])

    def iter_links(self) -> Iterator[tuple[Item, Item, dict[str, Any]]]:
        """Every link ``(u, v, metadata)``: ``"reasons"`` (data), ``"manual"``, ``"decider"``..."""
        keep = self._visible()[1]
        for u, v, meta in self._links.values():
            if keep is None or (id(u) in keep and id(v) in keep):
                yield u, v, dict(meta)

    @property
    def requires(self) -> frozenset[str]:
        """What the retry requires, and what each item needs that nothing ordered before it provides."""
        retry = self.retry
        required: set[str] = set(retry.requires) if retry is not None else set()
        retry_provides = retry.provides if retry is not None else frozenset()
        for child in self:
            required |= self._unsatisfied(child, retry_provides)
        return frozenset(required)


def _find_cycle(roots: tuple[Item, ...], succs_of: Callable[[Item], list[Item]]) -> list[Item] | None:
    """A cycle through what ``roots`` reach (``[a, b, ..., a]``), or ``None``; depth first, no recursion."""
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for root in roots:
        if id(root) in state:
            continue
        path = [root]
        pending = [iter(succs_of(root))]
        state[id(root)] = 1
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                state[id(path.pop())] = 2
                pending.pop()
                continue
            seen = state.get(id(nxt))
            if seen == 1:
                start = next(i for i, item in enumerate(path) if item is nxt)
                return [*path[start:], nxt]
            if seen is None:
                state[id(nxt)] = 1
                path.append(nxt)
                pending.append(iter(succs_of(nxt)))
    return None

"""The ``Flow`` base shared by the linear, unordered and graph patterns.

A flow is a mutable description: atoms and nested flows, an optional retry,
and (for graphs) links. ``greenflow.compiler`` turns it into an immutable
execution graph; every structural check that needs the whole picture happens
there.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterator
from typing import Any, ClassVar, Final, Union

from greenflow.atoms import Atom, Retry
from greenflow.exceptions import InvalidOptionError

__all__ = ["Flow", "Item", "latest_version", "structure_version"]

Item = Union[Atom, "Flow"]

# Each structural change takes a fresh number from one process-wide counter, so
# a (flow, version) pair is never reused, even across flows.
_versions: Final = itertools.count(1)


# From this many children on, a flow keeps a set of their ids for ``in`` (see Flow.__init__).
_ID_SET_FROM: Final = 16

# The newest version handed out; while it is unchanged, no flow anywhere has changed.
_latest = [0]


def latest_version() -> int:
    """The newest structure version of any flow (a cheap "has anything changed?" check)."""
    return _latest[0]


def structure_version(flow: Flow) -> tuple[int, ...]:
    """The versions of ``flow`` and every flow nested in it, in a fixed order.

    A compiled graph cached on a flow is valid while this tuple is unchanged:
    it costs one step per nested flow, not per atom.
    """
    out = [flow._version]
    stack = list(reversed(flow._subflows))
    while stack:
        sub = stack.pop()
        out.append(sub._version)
        stack.extend(reversed(sub._subflows))
    return tuple(out)


class Flow:
    """Base of the flow patterns: a named, ordered collection of atoms and flows."""

    pattern: ClassVar[str] = "flow"

    def __init__(self, name: str, retry: Retry | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidOptionError(f"flow name must be a non-empty string, got {name!r}")
        if retry is not None:
            if not isinstance(retry, Retry):
                raise InvalidOptionError(
                    f"flow {name!r}: retry must be a Retry instance, got {type(retry).__name__} {retry!r}"
                )
            if getattr(retry, "_auto_named", False):
                retry.name = f"{name}_retry"
                retry._auto_named = False
        self.name = name
        self.retry = retry
        self._children: list[Item] = []
        # The children's ids, made once the flow has _ID_SET_FROM children (a set is 216
        # bytes and an object the collector scans: a flow made per request has a few
        # children, which a scan checks as fast).
        self._child_ids: set[int] | None = None
        # The two lists below stay the shared empty tuple until there is something to hold.
        self._subflows: list[Flow] | tuple[()] = ()
        # The flows this one is in, by weak reference: a nested flow does not keep its parent
        # alive, so a flow made per request is freed at once, not by the cycle collector.
        self._parents: list[weakref.ref[Flow]] | tuple[()] = ()
        self._compiled: tuple[int, tuple[int, ...], Any] | None = None
        self._version = _latest[0] = next(_versions)

    def _bump(self) -> None:
        self._version = _latest[0] = next(_versions)

    @property
    def compile_cache(self) -> tuple[int, tuple[int, ...], Any] | None:
        """The compiler's cache slot for this flow (``greenflow.compiler.compile_flow`` owns it).

        ``(latest version seen, structure version, compiled graph)``; patterns
        never read it, they only bump versions when the structure changes.
        """
        return self._compiled

    @compile_cache.setter
    def compile_cache(self, entry: tuple[int, tuple[int, ...], Any] | None) -> None:
        self._compiled = entry

    def add(self, *items: Item) -> Flow:
        """Add atoms or flows (in order); returns the flow, so calls chain.

        Every item is checked before any is added: a refused call leaves the flow as it was.
        """
        self._check_new(items)
        self._append(items)
        self._bump()
        return self

    def _check_new(self, items: tuple[Item, ...]) -> None:
        """``InvalidOptionError`` unless every item may be added to this flow."""
        given: set[int] = set()
        for item in items:
            if not isinstance(item, (Atom, Flow)):
                raise InvalidOptionError(
                    f"flow {self.name!r} can only contain atoms and flows, got {type(item).__name__} {item!r}"
                )
            if item is self:
                raise InvalidOptionError(f"flow {self.name!r} cannot contain itself")
            if item in self or id(item) in given:
                raise InvalidOptionError(f"{_describe(item)} was added to flow {self.name!r} twice")
            if isinstance(item, Retry):
                raise InvalidOptionError(
                    f"retry {item.name!r} cannot be added to flow {self.name!r} as an atom; "
                    f"attach it with Flow(name, retry=...)"
                )
            if isinstance(item, Flow):
                path = _path_up(self, item)
                if path is not None:
                    raise InvalidOptionError(
                        f"flow {item.name!r} cannot be added to flow {self.name!r}: {self.name!r} is "
                        f"already nested in it ({' > '.join(repr(f.name) for f in path)}), and flows "
                        f"cannot be nested in each other"
                    )
            given.add(id(item))

    def _append(self, items: tuple[Item, ...]) -> None:
        children = self._children
        for item in items:
            children.append(item)
            if isinstance(item, Flow):
                if isinstance(self._subflows, tuple):
                    self._subflows = []
                self._subflows.append(item)
                if isinstance(item._parents, tuple):
                    item._parents = []
                item._parents.append(weakref.ref(self))
        if self._child_ids is not None:
            self._child_ids.update(id(item) for item in items)
        elif len(children) >= _ID_SET_FROM:
            self._child_ids = {id(child) for child in children}

    def __contains__(self, item: object) -> bool:
        """Whether ``item`` was added to this flow itself (not to a flow nested in it)."""
        ids = self._child_ids
        if ids is None:
            return any(child is item for child in self._children)
        return id(item) in ids

    def __iter__(self) -> Iterator[Item]:
        return iter(self._children)

    def __len__(self) -> int:
        return len(self._children)

    def iter_links(self) -> Iterator[tuple[Item, Item, dict[str, Any]]]:
        """The flow's explicit ordering constraints ``(before, after, metadata)``."""
        return iter(())

    def iter_atoms(self) -> Iterator[Atom]:
        """Every atom in this flow and its nested flows (retries first), depth first."""
        if self.retry is not None:
            yield self.retry
        for child in self:
            if isinstance(child, Flow):
                yield from child.iter_atoms()
            else:
                yield child

    @property
    def provides(self) -> frozenset[str]:
        """Every symbol some atom of this flow provides."""
        out: set[str] = set()
        for atom in self.iter_atoms():
            out |= atom.provides
        return frozenset(out)

    @property
    def requires(self) -> frozenset[str]:
        """Symbols this flow's atoms require that nothing running before them in it provides."""
        return _flow_requires(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self._children)} items)"


def _path_up(flow: Flow, ancestor: Flow) -> list[Flow] | None:
    """The nesting path from ``ancestor`` down to ``flow`` if ``flow`` is nested in it, else ``None``.

    Walks up through the flows that contain ``flow``: O(its enclosing flows).
    """
    came_from: dict[int, Flow | None] = {id(flow): None}
    stack = [flow]
    while stack:
        current = stack.pop()
        for ref in current._parents:
            parent = ref()
            if parent is None or id(parent) in came_from:
                continue
            came_from[id(parent)] = current
            if parent is ancestor:
                path: list[Flow] = [parent]
                step: Flow | None = current
                while step is not None:
                    path.append(step)
                    step = came_from[id(step)]
                return path
            stack.append(parent)
    return None


def _describe(item: Item) -> str:
    return f"flow {item.name!r}" if isinstance(item, Flow) else f"atom {item.name!r}"


def _flow_requires(flow: Flow) -> frozenset[str]:
    """What ``flow`` needs from outside, by the rules the compiler resolves arguments with.

    Its retry runs first: what the retry requires comes from outside, and what
    it provides every item sees. In a linear flow an item sees what the items
    before it provide; in an unordered flow, nothing its siblings provide (a
    graph flow, where an item sees what the items ordered before it provide,
    overrides ``requires``). An atom that requires what it provides itself
    needs it from outside.
    """
    retry = flow.retry
    required: set[str] = set(retry.requires) if retry is not None else set()
    visible: set[str] = set(retry.provides) if retry is not None else set()
    ordered = getattr(flow, "pattern", "linear") != "unordered"
    for child in flow:
        required |= _needs(child) - visible
        if ordered:
            visible |= child.provides
    return frozenset(required)


def _needs(item: Item) -> frozenset[str]:
    return item.requires if isinstance(item, Flow) else frozenset(item.requires)

"""``taskflow.formatters``: ``FailureFormatter``, the details a logging listener adds to a failure.

``format(fail, atom_matcher)`` returns ``(exc_info, details)``: the failure's
``exc_info`` (``None`` for a failure that crossed a process boundary; its captured
traceback is then written into ``details``), and, when the failed atom was
executing, the tree of atoms that ran before it (most recent first), each with
its intention, state, ``requires`` (its arguments) and ``provides`` (its result).
Atoms named in ``hide_inputs_outputs_of`` show no arguments or result; values
under ``mask_inputs_keys`` / ``mask_outputs_keys`` show as ``***`` at any depth
of nested dicts, lists and tuples. Subclass and override ``format`` (as Cinder
and Masakari do) to change what is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from greenflow import states
from greenflow.exceptions import GreenflowError
from greenflow.listeners import mask_keys

__all__ = ["FailureFormatter"]

_MISSING = object()


class _Node:
    """What an ``atom_matcher`` is given: ``item`` (the atom) and its ``metadata``."""

    __slots__ = ("item", "metadata")

    def __init__(self, item: Any, kind: str) -> None:
        self.item = item
        self.metadata = {"kind": kind}


class FailureFormatter:
    """Formats a failure with the atoms that led to it (TaskFlow's class, on greenflow's storage)."""

    def __init__(
        self,
        engine: Any,
        hide_inputs_outputs_of: Iterable[str] = (),
        mask_inputs_keys: Iterable[str] = (),
        mask_outputs_keys: Iterable[str] = (),
    ) -> None:
        self._engine = engine
        self._hide_inputs_outputs_of = frozenset(hide_inputs_outputs_of)
        self._mask_inputs_keys = frozenset(mask_inputs_keys)
        self._mask_outputs_keys = frozenset(mask_outputs_keys)

    def _requires(self, storage: Any, atom: Any) -> Any:
        inject = getattr(atom, "inject", None) or {}
        args: dict[str, Any] = {}
        for arg, sym in atom.rebind.items():
            if arg in inject:
                args[arg] = inject[arg]
            elif sym in inject:
                args[arg] = inject[sym]
            else:
                try:
                    args[arg] = storage.fetch(sym)
                except (GreenflowError, KeyError):
                    continue  # an optional argument nobody provided
        return args

    def _describe(self, storage: Any, atom: Any) -> str:
        name = atom.name
        attrs: dict[str, Any] = {}
        for key, getter in (("intention", storage.get_atom_intention), ("state", storage.get_atom_state)):
            try:
                attrs[key] = getter(name)
            except (GreenflowError, KeyError):
                pass
        if name not in self._hide_inputs_outputs_of:
            attrs["requires"] = mask_keys(self._requires(storage, atom), self._mask_inputs_keys)
            try:
                provides = storage.get_execute_result(name)
            except (GreenflowError, KeyError):
                provides = _MISSING
            if provides is not _MISSING:
                attrs["provides"] = mask_keys(provides, self._mask_outputs_keys)
        return f"Atom '{name}' {attrs}" if attrs else f"Atom '{name}'"

    def format(self, fail: Any, atom_matcher: Callable[[Any], bool]) -> tuple[Any, str]:
        """Return ``(exc_info, details)`` for ``fail``, raised by the atom ``atom_matcher`` matches.

        ``exc_info`` is the standard ``(type, value, traceback)`` triple (or ``None``)
        to log with the message; ``details`` is text to append to it (may be empty).
        """
        lines: list[str] = []
        if fail.exc_info is None:
            lines.append(fail.pformat(traceback=True))
        try:
            storage = self._engine.storage
            graph = self._engine.compilation.execution_graph
        except GreenflowError:
            return (fail.exc_info, "\n".join(lines))  # not compiled/prepared yet
        atom = next(
            (a for a, data in graph.nodes(data=True) if atom_matcher(_Node(a, data.get("kind", "task")))),
            None,
        )
        if atom is not None and self._intention(storage, atom.name) == states.EXECUTE:
            cache: dict[str, str] = {}
            tree: list[str] = []
            stack = [(pred, 1) for pred in reversed(list(graph.predecessors(atom)))]
            while stack:
                node, depth = stack.pop()
                if node.name not in cache:
                    cache[node.name] = self._describe(storage, node)
                tree.append("  " * depth + cache[node.name])
                stack.extend((pred, depth + 1) for pred in reversed(list(graph.predecessors(node))))
            lines.append(f"{len(tree)} predecessors (most recent first):")
            lines.extend(tree)
        return (fail.exc_info, "\n".join(lines))

    @staticmethod
    def _intention(storage: Any, name: str) -> str | None:
        try:
            return storage.get_atom_intention(name)
        except (GreenflowError, KeyError):
            return None

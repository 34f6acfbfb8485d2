"""``taskflow.persistence.backends.impl_memory``: greenflow's in-process backend, and ``FakeFilesystem``.

Unlike TaskFlow's, ``MemoryBackend`` keeps the saved objects themselves (no
copies): a detail changed after saving is changed in the backend too. Its
``memory`` is what it holds in TaskFlow's layout, a ``FakeFilesystem`` made
when asked for: ``/books/<uuid>``, ``/flow_details/<uuid>`` and
``/atom_details/<uuid>`` hold each record's dict form (``to_dict()``), and
``/books/<book>/<flow>`` and ``/flow_details/<flow>/<atom>`` link to what a
record holds.

``FakeFilesystem`` is TaskFlow's in-memory tree of values addressed by absolute
paths (``fs['/a/b'] = v``), with ``ls``/``ls_r``, ``ensure_path``, ``delete``,
``symlink`` and ``pformat``; programs and tests use it on its own.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any, Final

from greenflow.exceptions import InvalidOptionError, NotFoundError
from greenflow.persistence import MemoryBackend as _CoreMemoryBackend

__all__ = ["FakeFilesystem", "MemoryBackend"]

#: How many links one lookup follows before it calls the path a loop.
_MAX_LINKS: Final = 40


class _Node:
    __slots__ = ("children", "link", "value")

    def __init__(self, value: Any = None) -> None:
        self.value = value
        self.children: dict[str, _Node] = {}
        self.link: str | None = None  # the path this node is a symbolic link to


class FakeFilesystem:
    """Values in a tree of absolute, ``/``-separated paths; intermediate paths hold ``None``."""

    root_path: Final = "/"

    def __init__(self) -> None:
        self._root = _Node()

    # -- paths ----------------------------------------------------------------------------

    @classmethod
    def normpath(cls, path: str) -> str:
        """``path`` normalised (``//``, ``.`` and ``..`` resolved); ``ValueError`` if it is not absolute."""
        if not isinstance(path, str) or not path.startswith(cls.root_path):
            raise InvalidOptionError(f"a FakeFilesystem path is absolute (starts with '/'), got {path!r}")
        parts: list[str] = []
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise InvalidOptionError(f"path {path!r} goes above the root")
                parts.pop()
            else:
                parts.append(part)
        return "/" + "/".join(parts)

    @staticmethod
    def join(*pieces: str) -> str:
        """The pieces joined with ``/``."""
        return posixpath.join(*pieces)

    @staticmethod
    def split(path: str) -> tuple[str, str]:
        """``(parent, name)`` of ``path``."""
        return posixpath.split(path)

    @staticmethod
    def _parts(path: str) -> list[str]:
        return [p for p in path.split("/") if p]

    def _find(self, path: str, follow_last: bool = True) -> _Node:
        """The node at ``path``, following links; ``NotFound`` if it does not exist."""
        norm = self.normpath(path)
        pending = self._parts(norm)
        node = self._root
        walked: list[str] = []
        hops = 0
        while pending:
            name = pending.pop(0)
            child = node.children.get(name)
            if child is None:
                raise NotFoundError(
                    f"path {norm!r} not found: {'/' + '/'.join([*walked, name])!r} does not exist"
                )
            if child.link is not None and (pending or follow_last):
                hops += 1
                if hops > _MAX_LINKS:
                    raise InvalidOptionError(f"path {norm!r}: too many links followed (a link loop)")
                pending = self._parts(self.normpath(child.link)) + pending
                node, walked = self._root, []
                continue
            node = child
            walked.append(name)
        return node

    def _parent_of(self, path: str, create: bool) -> tuple[_Node, str]:
        norm = self.normpath(path)
        if norm == self.root_path:
            raise InvalidOptionError("the root path has no parent")
        parent_path, name = posixpath.split(norm)
        if create:
            self.ensure_path(parent_path)
        return self._find(parent_path), name

    # -- reading ---------------------------------------------------------------------------

    def __getitem__(self, path: str) -> Any:
        return self._find(path).value

    def get(self, path: str, default: Any = None) -> Any:
        """The value at ``path``, or ``default`` if it does not exist."""
        try:
            return self[path]
        except NotFoundError:
            return default

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        try:
            self._find(path)
        except NotFoundError:
            return False
        return True

    def ls(self, path: str, absolute: bool = False) -> list[str]:
        """The names (or, ``absolute``, the paths) of ``path``'s children, sorted."""
        base = self.normpath(path)
        names = sorted(self._find(path).children)
        return [posixpath.join(base, n) for n in names] if absolute else names

    def ls_r(self, path: str, absolute: bool = False) -> list[str]:
        """Every path below ``path``, level by level (relative to it, unless ``absolute``)."""
        base = self.normpath(path)
        out: list[str] = []
        level = [("", self._find(path))]
        while level:
            below = []
            for rel, node in level:
                for name in sorted(node.children):
                    child_rel = f"{rel}/{name}" if rel else name
                    out.append(child_rel)
                    child = node.children[name]
                    if child.link is None:
                        below.append((child_rel, child))
            level = below
        return [posixpath.join(base, rel) for rel in out] if absolute else out

    def __iter__(self) -> Iterator[str]:
        return iter(self.ls_r(self.root_path, absolute=True))

    def pformat(self) -> str:
        """The tree, each path under its parent (indented by depth), with its value or link target."""
        lines = [self.root_path]
        stack = [(1, name, child) for name, child in sorted(self._root.children.items(), reverse=True)]
        while stack:
            depth, name, node = stack.pop()
            shown = f" -> {node.link}" if node.link is not None else f": {node.value!r}"
            lines.append("  " * depth + name + shown)
            if node.link is None:
                stack.extend((depth + 1, n, c) for n, c in sorted(node.children.items(), reverse=True))
        return "\n".join(lines)

    # -- writing ---------------------------------------------------------------------------

    def ensure_path(self, path: str) -> None:
        """Create ``path`` and every path above it that does not exist (holding ``None``)."""
        node = self._root
        walked = ""
        for name in self._parts(self.normpath(path)):
            walked += "/" + name
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = _Node()
            elif child.link is not None:
                child = self._find(walked)
            node = child

    def __setitem__(self, path: str, value: Any) -> None:
        parent, name = self._parent_of(path, create=True)
        node = parent.children.get(name)
        if node is None:
            parent.children[name] = _Node(value)
        elif node.link is not None:
            self._find(path).value = value  # through the link, as a file system writes
        else:
            node.value = value

    def symlink(self, src_path: str, dest_path: str) -> None:
        """Make ``dest_path`` a link to ``src_path`` (reading it reads ``src_path``)."""
        target = self.normpath(src_path)
        parent, name = self._parent_of(dest_path, create=True)
        node = parent.children.get(name)
        if node is None:
            node = parent.children[name] = _Node()
        node.link = target

    def delete(self, path: str, recursive: bool = True) -> None:
        """Remove ``path`` (with what is below it, if ``recursive``); the root cannot be removed."""
        norm = self.normpath(path)
        if norm == self.root_path:
            raise InvalidOptionError("the root path cannot be deleted (use clear() to empty the tree)")
        parent, name = self._parent_of(norm, create=False)
        node = parent.children.get(name)
        if node is None:
            raise NotFoundError(f"path {norm!r} not found")
        if node.children and not recursive:
            raise InvalidOptionError(
                f"path {norm!r} has {len(node.children)} children; delete them first or pass recursive=True"
            )
        del parent.children[name]

    def __delitem__(self, path: str) -> None:
        self.delete(path, recursive=True)

    def clear(self) -> None:
        """Remove every path but the root."""
        self._root = _Node()


class MemoryBackend(_CoreMemoryBackend):
    """greenflow's memory backend, with TaskFlow's ``memory`` view of what it holds."""

    @property
    def memory(self) -> FakeFilesystem:
        """What the backend holds now, in TaskFlow's layout (a new snapshot each time it is read)."""
        fs = FakeFilesystem()
        for top in ("/books", "/flow_details", "/atom_details"):
            fs.ensure_path(top)
        for book in self.get_logbooks():
            fs[f"/books/{book.uuid}"] = book.to_dict(include_flows=False)
            for flow_detail in book:
                fs[f"/flow_details/{flow_detail.uuid}"] = flow_detail.to_dict(include_atoms=False)
                fs.symlink(f"/flow_details/{flow_detail.uuid}", f"/books/{book.uuid}/{flow_detail.uuid}")
                for atom in flow_detail:
                    fs[f"/atom_details/{atom.uuid}"] = atom.to_dict()
                    fs.symlink(f"/atom_details/{atom.uuid}", f"/flow_details/{flow_detail.uuid}/{atom.uuid}")
        return fs

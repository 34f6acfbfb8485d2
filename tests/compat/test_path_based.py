"""``taskflow.persistence.path_based``: a backend of one's own built on path primitives, as TaskFlow users
write them (here a dict of paths, with a transaction that applies its writes at the end or not at all)."""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterator
from typing import Any

import pytest
from taskflow.exceptions import NotFound
from taskflow.persistence import models
from taskflow.persistence.path_based import PathBasedBackend, PathBasedConnection


class DictBackend(PathBasedBackend):
    DEFAULT_PATH = "/store"

    def __init__(self, conf: dict[str, Any] | None = None) -> None:
        super().__init__(conf)
        self.items: dict[str, Any] = {}
        self.children: dict[str, set[str]] = {}

    def get_connection(self) -> DictConnection:
        return DictConnection(self)


class DictConnection(PathBasedConnection):
    _backend: DictBackend

    def _join_path(self, *parts: Any) -> str:
        return posixpath.join(*parts)

    def _get_item(self, path: str) -> Any:
        try:
            return self._backend.items[path]
        except KeyError:
            raise NotFound(f"nothing at {path}") from None

    def _set_item(self, path: str, value: Any, transaction: list[Any]) -> None:
        transaction.append(("set", path, value))

    def _del_tree(self, path: str, transaction: list[Any]) -> None:
        transaction.append(("del", path, None))

    def _get_children(self, path: str) -> Any:
        if path not in self._backend.children:
            raise NotFound(f"no path {path}")
        return list(self._backend.children[path])

    def _ensure_path(self, path: str) -> None:
        self._backend.children.setdefault(path, set())

    def _create_link(self, src_path: str, dest_path: str, transaction: list[Any]) -> None:
        transaction.append(("link", src_path, posixpath.basename(dest_path)))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[list[Any]]:
        ops: list[Any] = []
        yield ops  # an exception in the block applies nothing
        items, children = self._backend.items, self._backend.children
        for op, path, value in ops:
            if op == "set":
                items[path] = value
                children.setdefault(posixpath.dirname(path), set()).add(posixpath.basename(path))
            elif op == "link":
                children.setdefault(path, set()).add(value)
            else:
                for key in [k for k in items if k == path or k.startswith(path + "/")]:
                    del items[key]
                for key in [k for k in children if k == path or k.startswith(path + "/")]:
                    del children[key]
                children.get(posixpath.dirname(path), set()).discard(posixpath.basename(path))


def _book() -> tuple[models.LogBook, models.FlowDetail, models.TaskDetail]:
    book = models.LogBook("book")
    flow = models.FlowDetail("flow")
    task = models.TaskDetail("task")
    task.version = (1, 2)
    flow.add(task)
    book.add(flow)
    return book, flow, task


def test_a_path_based_backend_of_ones_own_stores_and_reads_back_logbooks() -> None:
    backend = DictBackend()
    conn = backend.get_connection()
    conn.upgrade()
    assert conn.book_path == "/store/books" and conn.atom_path == "/store/atom_details"
    book, flow, task = _book()
    conn.save_logbook(book)
    again = conn.get_logbook(book.uuid)
    assert again.name == "book" and [f.uuid for f in again] == [flow.uuid]
    assert again.find(flow.uuid).find(task.uuid).version == "1.2"
    assert len(conn.get_logbook(book.uuid, lazy=True)) == 0
    assert [b.uuid for b in conn.get_logbooks()] == [book.uuid]
    # A new atom added to a saved flow: update_flow_details stores and links it.
    extra = models.TaskDetail("extra")
    flow.add(extra)
    conn.update_flow_details(flow)
    task.state = "SUCCESS"
    task.results = 42
    conn.update_atom_details(task)
    stored = conn.get_flow_details(flow.uuid)
    assert {a.name for a in stored} == {"task", "extra"}
    assert conn.get_atom_details(task.uuid).results == 42
    assert len(conn.get_flow_details(flow.uuid, lazy=True)) == 0


def test_updating_what_was_never_saved_raises_not_found_and_destroy_removes_everything() -> None:
    conn = DictBackend({"path": "/other"}).get_connection()
    conn.upgrade()
    book, flow, task = _book()
    with pytest.raises(NotFound):
        conn.update_flow_details(flow)
    with pytest.raises(NotFound):
        conn.update_atom_details(task)
    with pytest.raises(NotFound):
        conn.get_logbook(book.uuid)
    conn.save_logbook(book)
    conn.destroy_logbook(book.uuid)
    for read in (lambda: conn.get_logbook(book.uuid), lambda: conn.get_atom_details(task.uuid)):
        with pytest.raises(NotFound):
            read()
    with pytest.raises(NotFound):
        conn.destroy_logbook(book.uuid)
    conn.save_logbook(book)
    conn.clear_all()
    assert list(conn.get_logbooks()) == []


def test_the_primitives_are_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        PathBasedConnection(DictBackend())  # type: ignore[abstract]

"""``taskflow.persistence.backends.impl_memory.FakeFilesystem``: TaskFlow's in-memory path tree."""

from __future__ import annotations

import pytest


@pytest.fixture
def fs():  # type: ignore[no-untyped-def]
    from taskflow.persistence.backends.impl_memory import FakeFilesystem

    return FakeFilesystem()


def test_values_live_at_absolute_paths_and_parents_are_made(fs) -> None:  # type: ignore[no-untyped-def]
    fs["/a/b"] = 1
    assert fs["/a/b"] == 1
    assert fs["/a"] is None
    assert fs.get("/nope", "dflt") == "dflt"
    assert "/a/b" in fs and "/a/c" not in fs


def test_listing_is_sorted_and_recursive_listing_goes_level_by_level(fs) -> None:  # type: ignore[no-untyped-def]
    for path in ("/d", "/c/d", "/a/b/c"):
        fs.ensure_path(path)
    assert fs.ls("/") == ["a", "c", "d"]
    assert fs.ls("/a", absolute=True) == ["/a/b"]
    assert fs.ls_r("/") == ["a", "c", "d", "a/b", "c/d", "a/b/c"]
    assert fs.ls_r("/a", absolute=True) == ["/a/b", "/a/b/c"]


def test_bad_paths_and_missing_ones_say_what_is_wrong(fs) -> None:  # type: ignore[no-untyped-def]
    from taskflow import exceptions

    for bad in ("", "a/b", "/../a"):
        with pytest.raises(ValueError, match=r"absolute|above the root"):
            fs.normpath(bad)
    assert fs.normpath("//a/./b/../c") == "/a/c"
    with pytest.raises(exceptions.NotFound, match="'/x' does not exist"):
        fs["/x/y"]


def test_delete_refuses_the_root_and_children_unless_recursive(fs) -> None:  # type: ignore[no-untyped-def]
    fs["/a/b"] = "b"
    with pytest.raises(ValueError, match="root path cannot be deleted"):
        fs.delete("/")
    with pytest.raises(ValueError, match="has 1 children"):
        fs.delete("/a", recursive=False)
    fs.delete("/a")
    assert fs.ls("/") == []
    fs["/x"] = 1
    fs.clear()
    assert fs.ls_r("/") == []


def test_links_read_their_target_and_loops_raise(fs) -> None:  # type: ignore[no-untyped-def]
    from taskflow import exceptions

    fs["/b"] = "d"
    fs.symlink("/b", "/c")
    assert fs["/c"] == "d"
    fs["/c"] = "e"  # written through the link
    assert fs["/b"] == "e"
    assert "c -> /b" in fs.pformat()
    fs.symlink("/c", "/c")
    with pytest.raises(ValueError, match="link loop"):
        fs["/c"]
    fs.symlink("/b", "/c")
    del fs["/b"]
    with pytest.raises(exceptions.NotFound):
        fs["/c"]


def test_pformat_shows_each_path_under_its_parent() -> None:
    from taskflow.persistence.backends.impl_memory import FakeFilesystem

    fs = FakeFilesystem()
    fs["/b/x"] = 1
    fs["/a/y/z"] = 2
    fs.symlink("/a/y", "/b/link")
    assert fs.pformat().splitlines() == [
        "/",
        "  a: None",
        "    y: None",
        "      z: 2",
        "  b: None",
        "    link -> /a/y",
        "    x: 1",
    ]


def test_memory_backend_shows_what_it_holds_in_taskflows_layout() -> None:
    from taskflow.persistence import backends, models
    from taskflow.persistence.backends import impl_memory

    backend = backends.fetch({"connection": "memory://"})
    assert isinstance(backend, impl_memory.MemoryBackend)
    book = models.LogBook("b")
    flow = models.FlowDetail("f")
    atom = models.TaskDetail("t")
    flow.add(atom)
    book.add(flow)
    backend.get_connection().save_logbook(book)
    fs = backend.memory
    assert fs.ls("/") == ["atom_details", "books", "flow_details"]
    assert fs[f"/books/{book.uuid}"]["name"] == "b"
    assert fs[f"/books/{book.uuid}/{flow.uuid}"]["name"] == "f"  # a link to the flow detail
    assert fs[f"/flow_details/{flow.uuid}/{atom.uuid}"]["state"] == "PENDING"
    atom.state = "SUCCESS"  # a live view: each read shows the backend as it is
    assert backend.memory[f"/atom_details/{atom.uuid}"]["state"] == "SUCCESS"


def test_an_engine_given_no_backend_has_a_memory_backend_holding_its_flow() -> None:
    import taskflow.engines
    from taskflow import task
    from taskflow.patterns import linear_flow

    class Noop(task.Task):
        def execute(self):  # type: ignore[no-untyped-def]
            pass

    engine = taskflow.engines.load(linear_flow.Flow("f").add(Noop("n")))
    engine.run()
    backend = engine.storage.backend
    assert backend is engine.storage.backend
    flow_uuid = engine.storage.flow_uuid
    assert backend.memory[f"/flow_details/{flow_uuid}"]["state"] == "SUCCESS"
    (atom_uuid,) = backend.memory.ls(f"/flow_details/{flow_uuid}")
    assert backend.memory[f"/atom_details/{atom_uuid}"]["name"] == "n"

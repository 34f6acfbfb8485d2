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

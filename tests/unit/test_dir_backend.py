"""The directory backend's read cache (``max_cache_size``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenflow.exceptions import InvalidOptionError
from greenflow.persistence import LogBook, fetch_backend
from greenflow.persistence._dir import DirBackend


@pytest.mark.parametrize("size", [0, -1, 2.5, "10", True])
def test_a_cache_size_that_is_not_a_positive_count_is_refused_naming_it(tmp_path: Path, size: object) -> None:
    with pytest.raises(InvalidOptionError, match=f"max_cache_size .* got {size!r}") as caught:
        DirBackend({"path": str(tmp_path), "max_cache_size": size})
    assert isinstance(caught.value, ValueError)


def test_no_cache_by_default(tmp_path: Path) -> None:
    assert fetch_backend(f"dir://{tmp_path}").file_cache is None


def test_the_cache_holds_at_most_max_cache_size_files_and_every_record_still_reads(tmp_path: Path) -> None:
    backend = DirBackend({"path": str(tmp_path), "max_cache_size": 3})
    books = [LogBook(f"book-{i}") for i in range(7)]
    for book in books:
        backend.save_logbook(book)
        backend.get_logbook(book.uuid)
        assert backend.file_cache is not None and backend.file_cache.currsize <= 3
    assert [backend.get_logbook(b.uuid).name for b in books] == [f"book-{i}" for i in range(7)]
    assert backend.file_cache is not None and backend.file_cache.currsize == 3


def test_a_cached_record_rewritten_by_another_backend_is_read_anew(tmp_path: Path) -> None:
    mine = DirBackend({"path": str(tmp_path), "max_cache_size": 8})
    book = LogBook("before")
    mine.save_logbook(book)
    assert mine.get_logbook(book.uuid).name == "before"  # now cached
    theirs = DirBackend({"path": str(tmp_path)})  # another process, in effect
    book.name = "after"
    theirs.save_logbook(book)
    assert mine.get_logbook(book.uuid).name == "after"

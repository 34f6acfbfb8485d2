"""``DirBackend``: logbooks as JSON files in a directory, safe for several processes.

Layout under the root directory::

    books/<uuid>.json    a logbook's fields and the uuids of its flow details
    flows/<uuid>.json    a flow detail's fields and the uuids of its atom details
    atoms/<uuid>.json    one atom detail (rewritten on every transition)
    claims/<uuid>.json   the owner running a flow detail, while it runs
    .lock                taken with ``flock`` around multi-file changes

``max_cache_size`` (``{'connection': 'dir', 'path': ..., 'max_cache_size': 256}``)
keeps the text of that many record files in memory, least recently read
dropped first; a cached text is used only while the file is the one it was
read from (same inode, size and modification time: every write replaces the
file), so another process's writes are always seen. ``None`` (the default)
caches nothing.

Every file is written whole to a temporary file in the same directory,
fsynced and renamed over the old one, so a reader (or a process resuming
after a crash) sees the old record or the new one, never half of one. An atom
transition touches one file and takes no lock; changes that read and rewrite
links (saving a logbook or a flow detail, claims, removal) hold the
exclusive lock, and reads of several files hold the shared one.

Group commit (``greenflow.persistence._writer``): ``write_batch`` writes a
round of every engine's pending records under one exclusive lock. Each file
is still written whole to a temporary file and renamed over the old one, but
the round syncs once: every temporary file is written first, then the file
system is synced in one call (Linux's ``syncfs``; file by file where it is
missing), then the files are renamed, then each directory that gained or
lost a name is synced, so the renames are durable too. A round runs on
the hub's offload thread under a green hub (``blocks_hub``): the hub never
waits on the disk. A group is all-or-nothing only file by file: a crash in
the middle of a round can leave some of a group's files new and others old,
which a resumed run treats like any other interrupted run (no engine went on
from any record of the round before the round ended).
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import ctypes.util
import fcntl
import json
import os
import shutil
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from greenflow.exceptions import InvalidOptionError, NotFoundError, StorageError
from greenflow.masking import mask_conf
from greenflow.persistence._claims import claim_refused, fence_passed
from greenflow.persistence._models import AtomDetail, FlowDetail, LogBook, now_iso

if TYPE_CHECKING:
    from greenflow.persistence._writer import WriteGroup

__all__ = ["DirBackend"]

_KINDS: Final = ("books", "flows", "atoms", "claims", "fences")


def _claim_record(flow_uuid: str, owner: str) -> dict[str, Any]:
    return {"name": flow_uuid, "owner": owner, "claimed_at": now_iso()}


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_syncfs() -> Any:
    """Linux's ``syncfs(2)`` through the C library, or ``None`` where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    return syncfs


_SYNCFS: Final = _load_syncfs()


def _sync_filesystem(path: str) -> bool:
    """Write out everything pending on the file system holding ``path``, in one call.

    One ``syncfs`` makes a whole round's files durable for the price of one
    journal commit (a file-by-file ``fsync`` costs one each). ``False`` where
    ``syncfs`` is missing or fails: the caller syncs file by file instead.
    """
    if _SYNCFS is None:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        return bool(_SYNCFS(fd) == 0)  # the GIL is released around the call (ctypes)
    finally:
        os.close(fd)


class FileCache:
    """The text of recently read record files, at most ``max_size`` of them (least recently read dropped)."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._entries: OrderedDict[str, tuple[tuple[int, int, int], str]] = OrderedDict()

    @property
    def currsize(self) -> int:
        """How many files' text is held."""
        return len(self._entries)

    def get(self, path: str, stamp: tuple[int, int, int]) -> str | None:
        """The text read from ``path`` while it had ``stamp`` (inode, size, mtime), if held."""
        entry = self._entries.get(path)
        if entry is None or entry[0] != stamp:
            return None
        with contextlib.suppress(KeyError):  # another thread dropped it meanwhile
            self._entries.move_to_end(path)
        return entry[1]

    def put(self, path: str, stamp: tuple[int, int, int], text: str) -> None:
        """Hold ``text``, read from ``path`` while it had ``stamp``."""
        self._entries[path] = (stamp, text)
        with contextlib.suppress(KeyError):
            self._entries.move_to_end(path)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Drop every text held."""
        self._entries.clear()


def _cache_from_conf(conf: dict[str, Any]) -> FileCache | None:
    size = conf.get("max_cache_size")
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise InvalidOptionError(
            f"the directory backend's max_cache_size is a number of files above 0 (or None: no cache), "
            f"got {size!r}"
        )
    return FileCache(size)


def _path_from_conf(conf: dict[str, Any]) -> str:
    url = conf.get("connection", "")
    path = ""
    if "://" in url:
        path = url.split("://", 1)[1]
    if not path:
        path = conf.get("path") or ""
    if not isinstance(path, str) or not path:
        raise InvalidOptionError(
            f"the directory backend needs a path: 'dir:///path' or {{'connection': 'dir', 'path': '/path'}}, "
            f"got {mask_conf(conf)!r}"
        )
    return os.path.abspath(path)


class DirBackend:
    """Stores logbooks under a directory (``dir:///path`` or ``file:///path``); its own connection."""

    writes_through = True
    #: ``(name, token)`` of a connection made by ``fenced()``: its writes pass that fence.
    fence: tuple[str, int] | None = None

    def __init__(self, conf: dict[str, Any] | None = None) -> None:
        self.conf = dict(conf or {})
        self.path = _path_from_conf(self.conf)
        #: The text of recently read records (``max_cache_size``), or ``None``.
        self.file_cache = _cache_from_conf(self.conf)
        self._lock_path = os.path.join(self.path, ".lock")
        self._ready = False

    def get_connection(self) -> DirBackend:
        """This backend is its own connection (it holds no open files between calls)."""
        return self

    def fenced(self, name: str, token: int) -> DirBackend:
        """A connection whose writes are refused (``StaleFenceError``) once a higher token passed ``name``.

        Each of its writes holds the directory's lock, raises the fence file
        ``fences/<name>.json`` to ``token`` (or finds a higher one and writes
        nothing) and only then writes its records, under the same lock.
        """
        conn = copy.copy(self)
        conn.fence = (name, token)
        return conn

    def pass_fence(self) -> None:
        """Raise this connection's fence to its token now; ``StaleFenceError`` if a higher one passed it."""
        if self.fence is None:
            raise StorageError(f"{self!r} is not fenced: nothing to pass")
        with self._locked(exclusive=True):
            pass

    def _pass_fence(self, name: str, token: int) -> None:
        """Under the exclusive lock: raise fence ``name`` to ``token``, or refuse if it is higher."""
        try:
            held = self._read("fences", name, "fence").get("token")
        except NotFoundError:
            held = None
        if held is not None and not isinstance(held, int):
            raise StorageError(f"corrupt fence record {self._file('fences', name)!r}: token {held!r}")
        if held is not None and held > token:
            raise fence_passed(repr(self.path), name, token, held)
        if held != token:
            self._write(self._file("fences", name), {"name": name, "token": token})

    def close(self) -> None:
        """Nothing held open."""

    # -- set-up -----------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Create the directory layout (idempotent)."""
        try:
            for kind in _KINDS:
                os.makedirs(os.path.join(self.path, kind), exist_ok=True)
            with open(self._lock_path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise StorageError(f"cannot create the directory backend at {self.path!r}: {exc}") from exc
        self._ready = True

    def validate(self) -> None:
        """Create the layout if missing and check the directory is writable; ``StorageError`` if not."""
        self.upgrade()
        for kind in _KINDS:
            folder = os.path.join(self.path, kind)
            if not os.access(folder, os.W_OK | os.X_OK):
                raise StorageError(f"the directory backend cannot write to {folder!r}")

    def _ensure(self) -> None:
        if not self._ready:
            self.upgrade()

    # -- files ------------------------------------------------------------------------------

    def _file(self, kind: str, uuid: str) -> str:
        if not uuid or "/" in uuid or uuid.startswith("."):
            raise StorageError(f"{uuid!r} is not a record uuid the directory backend can store")
        return os.path.join(self.path, kind, f"{uuid}.json")

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        """Hold the directory's lock; ``flock`` works across processes and across open files."""
        self._ensure()
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            if exclusive and self.fence is not None:
                self._pass_fence(*self.fence)
            yield
        finally:
            os.close(fd)  # closing the last descriptor releases the lock

    def _write(self, path: str, data: dict[str, Any]) -> None:
        tmp = self._stage(path, data, sync=True)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StorageError(
                f"cannot write {data.get('name')!r:.80} to {path!r}: {exc.strerror or exc}"
            ) from exc

    def _stage(self, path: str, data: dict[str, Any], sync: bool) -> str:
        """Write ``data`` to a new temporary file beside ``path`` (synced if ``sync``); return its path."""
        try:
            text = json.dumps(data, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise StorageError(f"cannot store {data.get('name')!r} as JSON in {path!r}: {exc}") from exc
        folder = os.path.dirname(path)
        try:
            try:
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
            except FileNotFoundError:
                self.upgrade()  # the layout was removed under us (clear_all elsewhere): make it again
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
        except OSError as exc:  # no inodes left, a read-only or vanished directory
            raise StorageError(
                f"cannot write {data.get('name')!r:.80} to {path!r}: {exc.strerror or exc}"
            ) from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                if sync:
                    os.fsync(out.fileno())
            return tmp
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):  # a full disk, a quota, a file-size limit: the old file stays
                raise StorageError(
                    f"cannot write {data.get('name')!r:.80} to {path!r}: {exc.strerror or exc}"
                ) from exc
            raise

    def _read_text(self, path: str) -> str:
        """The text of ``path`` (from the cache while the file is unchanged)."""
        cache = self.file_cache
        if cache is None:
            with open(path, encoding="utf-8") as src:
                return src.read()
        info = os.stat(path)
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        text = cache.get(path, stamp)
        if text is None:
            # Replaced since the stat? Then this text is newer, and cached under a stamp
            # the file no longer has: the next read reads it again.
            with open(path, encoding="utf-8") as src:
                text = src.read()
            cache.put(path, stamp, text)
        return text

    def _read(self, kind: str, uuid: str, what: str) -> dict[str, Any]:
        path = self._file(kind, uuid)
        try:
            data = json.loads(self._read_text(path))
        except FileNotFoundError:
            raise NotFoundError(f"no {what} with uuid {uuid!r} in {self.path!r}") from None
        except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise StorageError(f"corrupt {what} record {path!r}: {exc}") from exc
        if not isinstance(data, dict):
            raise StorageError(f"corrupt {what} record {path!r}: expected a JSON object, got {data!r}")
        return data

    def _remove(self, kind: str, uuid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._file(kind, uuid))

    def _uuids(self, kind: str) -> list[str]:
        self._ensure()
        folder = os.path.join(self.path, kind)
        return sorted(n[:-5] for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))

    @staticmethod
    def _links(data: dict[str, Any], key: str, path: str) -> list[str]:
        links = data.get(key, [])
        if not isinstance(links, list) or not all(isinstance(u, str) for u in links):
            raise StorageError(f"corrupt record {path!r}: {key!r} must be a list of uuids, got {links!r}")
        return links

    # -- reading ----------------------------------------------------------------------------

    def _load_atom(self, atom_uuid: str) -> AtomDetail:
        data = self._read("atoms", atom_uuid, "atom detail")
        try:
            return AtomDetail.from_dict(data)
        except StorageError as exc:
            raise StorageError(f"{self._file('atoms', atom_uuid)}: {exc}") from exc

    def _load_flow(self, flow_uuid: str, lazy: bool) -> FlowDetail:
        data = self._read("flows", flow_uuid, "flow detail")
        path = self._file("flows", flow_uuid)
        atoms = self._links(data, "atoms", path)
        try:
            flow_detail = FlowDetail.from_dict({**data, "atoms": []})
        except StorageError as exc:
            raise StorageError(f"{path}: {exc}") from exc
        if not lazy:
            for atom_uuid in atoms:
                flow_detail.add(self._load_atom(atom_uuid))
        return flow_detail

    def _load_book(self, book_uuid: str, lazy: bool) -> tuple[LogBook, list[str]]:
        """The logbook (with its flow and atom details unless ``lazy``) and its flows' uuids."""
        data = self._read("books", book_uuid, "logbook")
        path = self._file("books", book_uuid)
        flows = self._links(data, "flows", path)
        try:
            book = LogBook.from_dict({**data, "flows": []})
        except StorageError as exc:
            raise StorageError(f"{path}: {exc}") from exc
        if not lazy:
            for flow_uuid in flows:
                book.add(self._load_flow(flow_uuid, lazy=False))
        return book, flows

    def get_logbook(self, book_uuid: str, lazy: bool = False) -> LogBook:
        """The logbook with this uuid (``NotFoundError`` if none; ``StorageError`` if corrupt).

        With its flow and atom details, or, ``lazy``, without them (``get_flows_for_book`` reads them).
        """
        with self._locked(exclusive=False):
            return self._load_book(book_uuid, lazy)[0]

    def get_logbooks(self, lazy: bool = False) -> list[LogBook]:
        """Every stored logbook."""
        with self._locked(exclusive=False):
            return [self._load_book(u, lazy)[0] for u in self._uuids("books")]

    def get_flow_details(self, flow_uuid: str, lazy: bool = False) -> FlowDetail:
        """The flow detail with this uuid (with its atom details unless ``lazy``)."""
        with self._locked(exclusive=False):
            return self._load_flow(flow_uuid, lazy)

    def get_atom_details(self, atom_uuid: str) -> AtomDetail:
        """The atom detail with this uuid."""
        self._ensure()
        return self._load_atom(atom_uuid)

    def get_atoms_for_flow(self, flow_uuid: str) -> list[AtomDetail]:
        """The atom details of a flow detail."""
        return list(self.get_flow_details(flow_uuid))

    def get_flows_for_book(self, book_uuid: str, lazy: bool = False) -> list[FlowDetail]:
        """The flow details of a logbook (with their atom details unless ``lazy``)."""
        with self._locked(exclusive=False):
            _, flows = self._load_book(book_uuid, lazy=True)
            return [self._load_flow(flow_uuid, lazy) for flow_uuid in flows]

    # -- writing ----------------------------------------------------------------------------

    def _merged_links(self, kind: str, uuid: str, key: str, ours: list[str]) -> list[str]:
        """Links already stored, then ours not among them: updating never drops a stored link."""
        try:
            stored = self._links(self._read(kind, uuid, kind), key, self._file(kind, uuid))
        except NotFoundError:
            return ours
        known = set(stored)
        return stored + [u for u in ours if u not in known]

    def _save_flow(self, flow_detail: FlowDetail, every_atom: bool) -> None:
        atoms_dir = os.path.join(self.path, "atoms")
        for atom in flow_detail:
            if every_atom or not os.path.exists(os.path.join(atoms_dir, f"{atom.uuid}.json")):
                self._write(self._file("atoms", atom.uuid), atom.to_dict())
        data = flow_detail.to_dict(include_atoms=False)
        data["atoms"] = self._merged_links("flows", flow_detail.uuid, "atoms", [a.uuid for a in flow_detail])
        self._write(self._file("flows", flow_detail.uuid), data)

    def save_logbook(self, book: LogBook) -> LogBook:
        """Store a logbook with its flow and atom details (stored links are kept)."""
        with self._locked(exclusive=True):
            if os.path.exists(self._file("books", book.uuid)):
                book.updated_at = now_iso()
            for flow_detail in book:
                self._save_flow(flow_detail, every_atom=True)
            data = book.to_dict(include_flows=False)
            data["flows"] = self._merged_links("books", book.uuid, "flows", [f.uuid for f in book])
            self._write(self._file("books", book.uuid), data)
        return book

    def update_flow_details(self, flow_detail: FlowDetail) -> FlowDetail:
        """Store a flow detail's fields and any of its atom details not stored yet.

        ``NotFoundError`` if the flow detail was never stored (save it in its logbook first).
        """
        with self._locked(exclusive=True):
            if not os.path.exists(self._file("flows", flow_detail.uuid)):
                raise NotFoundError(
                    f"flow detail {flow_detail.name!r} ({flow_detail.uuid}) is not stored in {self.path!r}; "
                    f"add it to a logbook and save_logbook() it first"
                )
            self._save_flow(flow_detail, every_atom=False)
        return flow_detail

    def update_atom_details(self, atom_detail: AtomDetail) -> AtomDetail:
        """Store one atom detail: one atomic file replacement, no lock (fenced: under the lock).

        ``NotFoundError`` if the atom detail was never stored (``update_flow_details``
        of its flow detail stores it).
        """
        self._ensure()
        path = self._file("atoms", atom_detail.uuid)
        if self.fence is None:
            self._write_existing_atom(path, atom_detail)
            return atom_detail
        with self._locked(exclusive=True):
            self._write_existing_atom(path, atom_detail)
        return atom_detail

    def _write_existing_atom(self, path: str, atom_detail: AtomDetail) -> None:
        if not os.path.exists(path):
            raise NotFoundError(
                f"atom detail {atom_detail.name!r} ({atom_detail.uuid}) is not stored in {self.path!r}; "
                f"add it to its flow detail and update_flow_details() it first"
            )
        self._write(path, atom_detail.to_dict())

    def destroy_logbook(self, book_uuid: str) -> None:
        """Remove a logbook, its flow and atom details and their claims."""
        with self._locked(exclusive=True):
            data = self._read("books", book_uuid, "logbook")
            for flow_uuid in self._links(data, "flows", self._file("books", book_uuid)):
                try:
                    flow = self._read("flows", flow_uuid, "flow detail")
                except NotFoundError:
                    continue
                for atom_uuid in self._links(flow, "atoms", self._file("flows", flow_uuid)):
                    self._remove("atoms", atom_uuid)
                self._remove("flows", flow_uuid)
                self._remove("claims", flow_uuid)
            self._remove("books", book_uuid)

    def clear_all(self) -> None:
        """Remove every record (the layout is made again)."""
        if self.file_cache is not None:
            self.file_cache.clear()
        with self._locked(exclusive=True):
            for kind in _KINDS:
                shutil.rmtree(os.path.join(self.path, kind), ignore_errors=True)
            self._ready = False
            self.upgrade()

    # -- group commit (greenflow.persistence._writer) ------------------------------------------

    #: The writer runs rounds on the hub's offload thread: file writes and syncs block the thread.
    blocks_hub = True

    def atom_row(self, detail: AtomDetail) -> dict[str, Any]:
        """The record of ``detail`` now (what the writer will store)."""
        return detail.to_dict()

    def flow_row(self, flow_detail: FlowDetail) -> dict[str, Any]:
        """The record of ``flow_detail`` now, with the uuids of its atom details."""
        data = flow_detail.to_dict(include_atoms=False)
        data["atoms"] = [atom.uuid for atom in flow_detail]
        return data

    def book_rows(self, book: LogBook) -> dict[str, Any]:
        """The records that store a new logbook with its flow and atom details."""
        data = book.to_dict(include_flows=False)
        data["flows"] = [fd.uuid for fd in book]
        return {
            "books": [(book.uuid, data)],
            "flows": [(fd.uuid, self.flow_row(fd)) for fd in book],
            "atoms": [(ad.uuid, ad.to_dict()) for fd in book for ad in fd],
            "flow_uuids": [fd.uuid for fd in book],
        }

    def write_batch(self, groups: list[WriteGroup]) -> list[BaseException | None]:
        """Write a round of groups under one lock with one sync pass; the error of each group, or ``None``.

        A refused claim, or a record that cannot be stored as JSON, fails its
        own group only (none of its files is written). A failure of the disk
        while the round is synced or renamed fails every group of the round.
        """
        errors: list[BaseException | None] = [None] * len(groups)
        staged: list[tuple[str, str]] = []  # (temporary file, final path), in write order
        try:
            with self._locked(exclusive=True):
                created = {uuid for g in groups if g.create is not None for uuid in g.create["flow_uuids"]}
                claimed: dict[str, str] = {}  # claims taken in this round
                released: list[tuple[str, str]] = []
                for k, group in enumerate(groups):
                    mark = len(staged)
                    try:
                        self._stage_group(group, created, claimed, staged)
                    except StorageError as exc:
                        errors[k] = exc
                        if group.claim is not None and claimed.get(group.claim[0]) == group.claim[1]:
                            del claimed[group.claim[0]]  # not taken after all
                        for tmp, _ in staged[mark:]:
                            with contextlib.suppress(OSError):
                                os.unlink(tmp)
                        del staged[mark:]
                        continue
                    if group.release is not None:
                        released.append(group.release)
                self._commit_staged(staged, released, claimed)
        except (OSError, StorageError) as exc:
            for tmp, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            error = (
                exc
                if isinstance(exc, StorageError)
                else StorageError(
                    f"cannot write a round of {len(groups)} engine(s) to {self.path!r}: {exc.strerror or exc}"
                )
            )
            return [e if e is not None else error for e in errors]
        return errors

    def _stage_group(
        self, group: WriteGroup, created: set[str], claimed: dict[str, str], staged: list[tuple[str, str]]
    ) -> None:
        """Stage ``group``'s files (after taking its claim, if it has one); ``StorageError`` if refused."""
        if group.create is not None:
            for kind in ("atoms", "flows", "books"):
                for uuid, data in group.create[kind]:
                    path = self._file(kind, uuid)
                    staged.append((self._stage(path, data, sync=False), path))
        if group.claim is not None:
            flow_uuid, owner = group.claim
            refused = claim_refused(flow_uuid, claimed.get(flow_uuid) or self.get_claim(flow_uuid), owner)
            if refused is not None:
                raise refused
            claimed[flow_uuid] = owner
            if flow_uuid not in created:  # the stored record, read under the same lock
                group.claimed = self._load_flow(flow_uuid, lazy=False)
            path = self._file("claims", flow_uuid)
            staged.append((self._stage(path, _claim_record(flow_uuid, owner), sync=False), path))
        for uuid, data in group.atoms.items():
            path = self._file("atoms", uuid)
            staged.append((self._stage(path, data, sync=False), path))
        for uuid, data in group.flows.items():
            if uuid not in created:
                data = {**data, "atoms": self._merged_links("flows", uuid, "atoms", data["atoms"])}
            path = self._file("flows", uuid)
            staged.append((self._stage(path, data, sync=False), path))

    def _commit_staged(
        self, staged: list[tuple[str, str]], released: list[tuple[str, str]], claimed: dict[str, str]
    ) -> None:
        """Sync every staged file, rename them in order, drop released claims, sync the directories."""
        if staged and not _sync_filesystem(self._lock_path):
            for tmp, _ in staged:
                _fsync_path(tmp)
        folders: set[str] = set()
        for tmp, path in staged:
            os.replace(tmp, path)
            folders.add(os.path.dirname(path))
        staged.clear()
        for flow_uuid, owner in released:
            if self._drop_claim(flow_uuid, owner, claimed.get(flow_uuid)):
                claimed.pop(flow_uuid, None)
                folders.add(os.path.join(self.path, "claims"))
        for folder in folders:
            _fsync_path(folder)

    # -- claims -----------------------------------------------------------------------------

    def get_claim(self, flow_uuid: str) -> str | None:
        """The owner holding the flow detail, if any."""
        try:
            data = self._read("claims", flow_uuid, "claim")
        except NotFoundError:
            return None
        owner = data.get("owner")
        if not isinstance(owner, str):
            raise StorageError(f"corrupt claim record {self._file('claims', flow_uuid)!r}: {data!r}")
        return owner

    def claim_flow(self, flow_uuid: str, owner: str) -> None:
        """Record ``owner`` as running the flow detail.

        ``StorageError`` if another owner holds it, unless that owner is a
        process of this host that has exited (its claim is broken).
        """
        with self._locked(exclusive=True):
            refused = claim_refused(flow_uuid, self.get_claim(flow_uuid), owner)
            if refused is not None:
                raise refused
            self._write(self._file("claims", flow_uuid), _claim_record(flow_uuid, owner))

    def release_flow(self, flow_uuid: str, owner: str) -> None:
        """Drop ``owner``'s claim, if it holds one."""
        with self._locked(exclusive=True):
            self._drop_claim(flow_uuid, owner)

    def _drop_claim(self, flow_uuid: str, owner: str, holder: str | None = None) -> bool:
        """Remove the claim if ``owner`` holds it (``holder``: the holder known already); whether it did."""
        if holder is None:
            try:
                holder = self.get_claim(flow_uuid)
            except StorageError:
                holder = owner  # a corrupt claim of ours: remove it rather than keep the flow locked
        if holder != owner:
            return False
        self._remove("claims", flow_uuid)
        return True

    def __repr__(self) -> str:
        fence = "" if self.fence is None else f", fence={self.fence[0]!r} token={self.fence[1]}"
        return f"DirBackend({self.path!r}{fence})"

"""``ZooKeeperBackend``: logbooks as znodes in ZooKeeper (kazoo), changed in transactions.

Znodes under the backend's ``path`` (default ``/greenflow/persistence``), each a JSON record:

- ``books/<uuid>``: a logbook's fields and the uuids of its flow details;
- ``flows/<uuid>``: a flow detail's fields and the uuids of its atom details;
- ``atoms/<uuid>``: one atom detail (rewritten on every transition: one ``set``);
- ``claims/<uuid>``: the owner running a flow detail, while it runs.

A change of several znodes (saving a logbook or a flow detail, destroying a
logbook) is one multi-operation transaction that checks the versions it read,
so another reader or writer sees all of it or none; one that lost a race with
another writer is read and made again. A transaction carries at most
ZooKeeper's ``jute.maxbuffer`` (1 MB by default): a logbook saved at once must
fit in it, an atom detail always does if its own record does. Reads of several
znodes are not one snapshot (ZooKeeper has none): a logbook destroyed while it
is read raises ``NotFoundError``.

Named ``zookeeper://h1:2181,h2:2181/path?timeout=10`` or TaskFlow's dict
``{'connection': 'zookeeper', 'hosts': ..., 'path': ..., 'timeout': ...}``;
Its connections share its one session (closing one keeps it open);
``client=`` (or ``conf['client']``) shares a kazoo client with other backends
and jobboards, which this backend then never stops. Under gevent or eventlet
the client it makes uses kazoo's handler for that hub.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

from greenflow.exceptions import InvalidOptionError, NotFoundError, StorageError
from greenflow.persistence._claims import claim_refused, fence_passed
from greenflow.persistence._models import AtomDetail, FlowDetail, LogBook, now_iso
from greenflow.persistence._zookeeper_client import (
    SCHEMES,
    make_client,
    start_client,
    zookeeper_conf_from_url,
)

__all__ = ["ZooKeeperBackend", "ZooKeeperConnection"]

_KINDS: Final = ("books", "flows", "atoms", "claims", "fences")
_DEFAULT_PATH: Final = "/greenflow/persistence"
_OPTIONS: Final = frozenset({"connection", "hosts", "path", "timeout", "handler", "auth", "client"})
#: TaskFlow's ZooKeeper backend options this one does without (accepted, unused).
_IGNORED: Final = frozenset({"check_compatible"})
# How often a multi-znode change is made again after losing a race: each lost attempt means
# another writer's change went in, so only many writers on one logbook at once use them up.
_RACE_ATTEMPTS: Final = 20

T = TypeVar("T")


class _Race(Exception):
    """A transaction failed because another writer changed what it read: read and try again."""


class _Fence:
    """A fenced connection's fence: its name, the writer's token, the fence znode's version once passed."""

    __slots__ = ("name", "token", "version")

    def __init__(self, name: str, token: int) -> None:
        self.name = name
        self.token = token
        self.version: int | None = None


#: The fence of the fenced connection whose write is being made (per thread and green thread).
_CURRENT_FENCE: contextvars.ContextVar[_Fence | None] = contextvars.ContextVar(
    "greenflow_zk_fence", default=None
)

#: The connection methods that write: a fenced connection runs each under its fence.
_WRITES: Final = frozenset(
    {"save_logbook", "update_flow_details", "update_atom_details", "claim_flow", "release_flow", "pass_fence"}
)


class ZooKeeperConnection:
    """The backend's methods; ``close()`` leaves the session open (``backend.close()`` ends it).

    TaskFlow's programs close a connection after each use (``contextlib.closing(
    backend.get_connection())``): ending the session each time would reconnect on every call.

    A connection made by ``fenced(name, token)`` checks the fence znode
    ``fences/<name>`` in every transaction it writes with: once a higher token
    passed that fence, its writes are refused (``StaleFenceError``) and
    nothing of them is stored.
    """

    __slots__ = ("_backend", "_fence")

    def __init__(self, backend: ZooKeeperBackend, fence: _Fence | None = None) -> None:
        self._backend = backend
        self._fence = fence

    def fenced(self, name: str, token: int) -> ZooKeeperConnection:
        """A connection whose writes are refused (``StaleFenceError``) once a higher token passed ``name``."""
        return ZooKeeperConnection(self._backend, _Fence(name, token))

    @property
    def fence(self) -> tuple[str, int] | None:
        """``(name, token)`` of this connection's fence, or ``None``."""
        return None if self._fence is None else (self._fence.name, self._fence.token)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._backend, name)
        if self._fence is None or name not in _WRITES:
            return attr
        fence = self._fence

        def fenced_write(*args: Any, **kwargs: Any) -> Any:
            reset = _CURRENT_FENCE.set(fence)
            try:
                return attr(*args, **kwargs)
            finally:
                _CURRENT_FENCE.reset(reset)

        return fenced_write

    def close(self) -> None:
        """Nothing to release: connections share the backend's session."""


class ZooKeeperBackend:
    """Stores logbooks in ZooKeeper (see the module docstring)."""

    writes_through = True

    def __init__(self, conf: dict[str, Any] | None = None, client: Any = None) -> None:
        conf = dict(conf or {})
        client = conf.pop("client", None) or client
        url = conf.get("connection", "zookeeper")
        # 'zookeeper://...', or the kind alone: 'zookeeper' and TaskFlow's 'zookeeper:'.
        kind = url.split("://", 1)[0].removesuffix(":").split("+", 1)[0] if isinstance(url, str) else None
        if kind not in SCHEMES:
            raise InvalidOptionError(f"a ZooKeeper backend is named zookeeper://..., got {url!r}")
        if "://" in url:
            conf = {**zookeeper_conf_from_url(url), **conf}
        unknown = set(conf) - _OPTIONS - _IGNORED
        if unknown:
            raise InvalidOptionError(
                f"unknown ZooKeeper persistence option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}"
            )
        hosts = conf.get("hosts") or "127.0.0.1:2181"
        self.hosts: str = hosts if isinstance(hosts, str) else ",".join(str(h) for h in hosts)
        path = str(conf.get("path") or _DEFAULT_PATH)
        if not path.startswith("/") or path == "/":
            raise InvalidOptionError(f"a ZooKeeper backend path is absolute and not '/', got {path!r}")
        self.path = path.rstrip("/")
        try:
            self.timeout = float(conf.get("timeout", 10.0))
        except (TypeError, ValueError):
            raise InvalidOptionError(
                f"the timeout of a ZooKeeper backend is a number of seconds, got {conf['timeout']!r}"
            ) from None
        self.conf = conf
        self._client = client
        self._owns_client = client is None
        self._started = False
        self._ready = False

    def get_connection(self) -> ZooKeeperConnection:
        """A connection on the backend's one session (kazoo's client is safe to share)."""
        return ZooKeeperConnection(self)

    def close(self) -> None:
        """End the backend's session if it made its client (a shared client is left running)."""
        client, started = self._client, self._started
        self._started = self._ready = False
        if self._owns_client:
            self._client = None
            if client is not None and started:
                with contextlib.suppress(Exception):
                    client.stop()
                    client.close()

    # -- connection ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        from kazoo.exceptions import KazooException

        timeouts: tuple[type[BaseException], ...] = ()
        if self._client is not None:
            timeouts = (self._client.handler.timeout_exception,)
        try:
            yield
        except (KazooException, *timeouts) as exc:
            raise StorageError(
                f"the ZooKeeper backend at {self.hosts} (path {self.path!r}) could not {doing}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _zk(self) -> Any:
        if not self._started:
            if self._client is None:
                self._client = make_client(
                    self.hosts, self.timeout, self.conf.get("handler"), self.conf.get("auth"),
                    "the ZooKeeper persistence backend",
                )  # fmt: skip
            with self._translate("connect"):
                start_client(self._client, self.timeout, shared=not self._owns_client)
            self._started = True
        return self._client

    def _ensure(self) -> Any:
        zk = self._zk()
        if not self._ready:
            self.upgrade()
        return zk

    # -- set-up -----------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Create the backend's znodes (idempotent)."""
        zk = self._zk()
        with self._translate("create its znodes"):
            for kind in _KINDS:
                zk.ensure_path(self._node(kind))
        self._ready = True

    def validate(self) -> None:
        """Reach the ensemble and create the znodes if missing; ``StorageError`` if it cannot."""
        self.upgrade()

    # -- znodes -----------------------------------------------------------------------------

    def _node(self, kind: str, uuid: str = "") -> str:
        if not uuid:
            return f"{self.path}/{kind}"
        if "/" in uuid or uuid.startswith("."):
            raise StorageError(f"{uuid!r} is not a record uuid the ZooKeeper backend can store")
        return f"{self.path}/{kind}/{uuid}"

    @staticmethod
    def _encode(data: dict[str, Any], node: str) -> bytes:
        try:
            return json.dumps(data, allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise StorageError(
                f"cannot store {data.get('name')!r:.80} as JSON in znode {node!r}: {exc}"
            ) from exc

    def _decode(self, raw: bytes, node: str, what: str) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise StorageError(f"corrupt {what} record in znode {node!r}: {exc}") from exc
        if not isinstance(data, dict):
            raise StorageError(
                f"corrupt {what} record in znode {node!r}: expected a JSON object, got {data!r:.80}"
            )
        return data

    def _read(self, kind: str, uuid: str, what: str) -> tuple[dict[str, Any], Any]:
        """``(record, stat)`` of a znode; ``NotFoundError`` naming the uuid when it is not there."""
        from kazoo.exceptions import NoNodeError

        node = self._node(kind, uuid)
        zk = self._ensure()
        with self._translate(f"read {what} {uuid}"):
            try:
                raw, stat = zk.get(node)
            except NoNodeError:
                raise NotFoundError(
                    f"no {what} with uuid {uuid!r} in ZooKeeper at {self.hosts}{self.path}"
                ) from None
        return self._decode(raw, node, what), stat

    def _read_or_none(self, kind: str, uuid: str, what: str) -> tuple[dict[str, Any], Any] | None:
        try:
            return self._read(kind, uuid, what)
        except NotFoundError:
            return None

    def _exists(self, kind: str, uuids: list[str]) -> dict[str, bool]:
        """Which of ``uuids`` have a znode of ``kind`` (asked all at once)."""
        zk = self._ensure()
        with self._translate(f"look up {kind}"):
            asks = [(u, zk.exists_async(self._node(kind, u))) for u in uuids]
            return {u: ask.get(timeout=self.timeout) is not None for u, ask in asks}

    @staticmethod
    def _links(data: dict[str, Any], key: str, node: str) -> list[str]:
        links = data.get(key, [])
        if not isinstance(links, list) or not all(isinstance(u, str) for u in links):
            raise StorageError(
                f"corrupt record in znode {node!r}: {key!r} must be a list of uuids, got {links!r}"
            )
        return links

    def _transaction(self) -> Any:
        """A new transaction; under a fenced write, it first checks the fence is still ours."""
        txn = self._ensure().transaction()
        fence = _CURRENT_FENCE.get()
        if fence is not None:
            if fence.version is None:
                self._pass(fence)
            txn.check(self._node("fences", fence.name), fence.version)
        return txn

    def _pass(self, fence: _Fence) -> None:
        """Raise the fence znode to ``fence.token`` (or find it there); ``StaleFenceError`` if higher."""
        from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

        node = self._node("fences", fence.name)
        zk = self._ensure()
        for _ in range(_RACE_ATTEMPTS):
            with self._translate(f"pass fence {fence.name}"):
                try:
                    data, stat = zk.get(node)
                except NoNodeError:
                    try:
                        zk.create(node, str(fence.token).encode())
                    except NodeExistsError:
                        continue  # another writer made it first: read it
                    fence.version = 0
                    return
                held = int(data.decode() or 0)
                if held > fence.token:
                    raise fence_passed(
                        f"the ZooKeeper backend at {self.hosts} (path {self.path!r})",
                        fence.name,
                        fence.token,
                        held,
                    )
                if held == fence.token:
                    fence.version = stat.version
                    return
                try:
                    stat = zk.set(node, str(fence.token).encode(), version=stat.version)
                except BadVersionError:
                    continue
                fence.version = stat.version
                return
        raise StorageError(f"the ZooKeeper backend could not pass fence {fence.name}: it kept changing")

    def pass_fence(self) -> None:
        """Raise the current fenced connection's fence to its token now (``StaleFenceError`` if stale)."""
        fence = _CURRENT_FENCE.get()
        if fence is None:
            raise StorageError(f"{self!r}: pass_fence() needs a fenced connection (connection.fenced(...))")
        fence.version = None
        self._pass(fence)

    def _commit(self, txn: Any, doing: str) -> None:
        """Commit ``txn``; ``_Race`` when another writer changed a znode it checks."""

        with self._translate(doing):
            results = txn.commit()
        self._check_results(results, doing)

    def _check_results(self, results: list[Any], doing: str) -> None:
        """Nothing if a transaction's ``results`` hold no error; else ``_Race`` or ``StorageError``."""
        from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError, NotEmptyError

        failures = [r for r in results if isinstance(r, Exception)]
        if not failures:
            return
        fence = _CURRENT_FENCE.get()
        if fence is not None and isinstance(results[0], BadVersionError):
            fence.version = None  # the fence moved: the next attempt reads it (and may be refused)
        if any(
            isinstance(r, (BadVersionError, NodeExistsError, NoNodeError, NotEmptyError)) for r in failures
        ):
            raise _Race(doing)
        raise StorageError(
            f"the ZooKeeper backend at {self.hosts} (path {self.path!r}) could not {doing}: "
            f"{', '.join(type(r).__name__ for r in failures)}"
        )

    def _retrying(self, doing: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (which reads, then commits one transaction) until it wins its race."""
        for _ in range(_RACE_ATTEMPTS):
            try:
                return attempt()
            except _Race:
                continue
        raise StorageError(
            f"the ZooKeeper backend at {self.hosts} (path {self.path!r}) could not {doing}: other writers "
            f"changed its znodes under each of {_RACE_ATTEMPTS} attempts"
        )

    # -- reading ----------------------------------------------------------------------------

    def _atom_from(self, data: dict[str, Any], atom_uuid: str) -> AtomDetail:
        try:
            return AtomDetail.from_dict(data)
        except StorageError as exc:
            raise StorageError(f"znode {self._node('atoms', atom_uuid)}: {exc}") from exc

    def _load_atoms(self, atom_uuids: list[str]) -> list[AtomDetail]:
        from kazoo.exceptions import NoNodeError

        zk = self._ensure()
        atoms = []
        with self._translate("read atom details"):
            asks = [(u, zk.get_async(self._node("atoms", u))) for u in atom_uuids]
            for atom_uuid, ask in asks:
                try:
                    raw, _ = ask.get(timeout=self.timeout)
                except NoNodeError:
                    raise NotFoundError(f"no atom detail with uuid {atom_uuid!r} in ZooKeeper") from None
                data = self._decode(raw, self._node("atoms", atom_uuid), "atom detail")
                atoms.append(self._atom_from(data, atom_uuid))
        return atoms

    def _load_flow(self, flow_uuid: str, lazy: bool) -> FlowDetail:
        data, _ = self._read("flows", flow_uuid, "flow detail")
        node = self._node("flows", flow_uuid)
        atoms = self._links(data, "atoms", node)
        try:
            flow_detail = FlowDetail.from_dict({**data, "atoms": []})
        except StorageError as exc:
            raise StorageError(f"znode {node}: {exc}") from exc
        if not lazy:
            for atom in self._load_atoms(atoms):
                flow_detail.add(atom)
        return flow_detail

    def _load_book(self, book_uuid: str, lazy: bool) -> tuple[LogBook, list[str]]:
        """The logbook (with its flow and atom details unless ``lazy``) and its flows' uuids."""
        data, _ = self._read("books", book_uuid, "logbook")
        node = self._node("books", book_uuid)
        flows = self._links(data, "flows", node)
        try:
            book = LogBook.from_dict({**data, "flows": []})
        except StorageError as exc:
            raise StorageError(f"znode {node}: {exc}") from exc
        if not lazy:
            for flow_uuid in flows:
                book.add(self._load_flow(flow_uuid, lazy=False))
        return book, flows

    def get_logbook(self, book_uuid: str, lazy: bool = False) -> LogBook:
        """The logbook with this uuid (``NotFoundError`` if none; ``StorageError`` if corrupt).

        With its flow and atom details, or, ``lazy``, without them (``get_flows_for_book`` reads them).
        """
        return self._load_book(book_uuid, lazy)[0]

    def get_logbooks(self, lazy: bool = False) -> list[LogBook]:
        """Every stored logbook."""
        zk = self._ensure()
        with self._translate("list logbooks"):
            uuids = sorted(zk.get_children(self._node("books")))
        return [self._load_book(u, lazy)[0] for u in uuids]

    def get_flow_details(self, flow_uuid: str, lazy: bool = False) -> FlowDetail:
        """The flow detail with this uuid (with its atom details unless ``lazy``)."""
        return self._load_flow(flow_uuid, lazy)

    def get_atom_details(self, atom_uuid: str) -> AtomDetail:
        """The atom detail with this uuid."""
        data, _ = self._read("atoms", atom_uuid, "atom detail")
        return self._atom_from(data, atom_uuid)

    def get_atoms_for_flow(self, flow_uuid: str) -> list[AtomDetail]:
        """The atom details of a flow detail."""
        return list(self.get_flow_details(flow_uuid))

    def get_flows_for_book(self, book_uuid: str, lazy: bool = False) -> list[FlowDetail]:
        """The flow details of a logbook (with their atom details unless ``lazy``)."""
        _, flows = self._load_book(book_uuid, lazy=True)
        return [self._load_flow(flow_uuid, lazy) for flow_uuid in flows]

    # -- writing ----------------------------------------------------------------------------

    def _put(self, txn: Any, kind: str, uuid: str, data: dict[str, Any], stat: Any) -> None:
        """Add to ``txn``: create the znode (``stat`` None) or set it if still at ``stat``'s version."""
        node = self._node(kind, uuid)
        if stat is None:
            txn.create(node, self._encode(data, node))
        else:
            txn.set_data(node, self._encode(data, node), version=stat.version)

    @staticmethod
    def _merged(stored: dict[str, Any] | None, key: str, ours: list[str], node: str) -> list[str]:
        """Links already stored, then ours not among them: updating never drops a stored link."""
        if stored is None:
            return ours
        links = ZooKeeperBackend._links(stored, key, node)
        known = set(links)
        return links + [u for u in ours if u not in known]

    def _add_flow(
        self, txn: Any, flow_detail: FlowDetail, every_atom: bool, stored_only: bool = False
    ) -> None:
        """Add to ``txn`` the writes that store ``flow_detail`` (all its atoms, or only new ones).

        ``stored_only``: ``NotFoundError`` if the flow detail has no znode yet.
        """
        atoms = list(flow_detail)
        stored_atoms = self._exists("atoms", [a.uuid for a in atoms])
        for atom in atoms:
            node = self._node("atoms", atom.uuid)
            if not stored_atoms[atom.uuid]:
                txn.create(node, self._encode(atom.to_dict(), node))
            elif every_atom:
                txn.set_data(node, self._encode(atom.to_dict(), node))
        read = self._read_or_none("flows", flow_detail.uuid, "flow detail")
        if read is None and stored_only:
            raise NotFoundError(
                f"flow detail {flow_detail.name!r} ({flow_detail.uuid}) is not stored in ZooKeeper at "
                f"{self.hosts}{self.path}; add it to a logbook and save_logbook() it first"
            )
        data = flow_detail.to_dict(include_atoms=False)
        node = self._node("flows", flow_detail.uuid)
        stored, stat = (None, None) if read is None else read
        data["atoms"] = self._merged(stored, "atoms", [a.uuid for a in atoms], node)
        self._put(txn, "flows", flow_detail.uuid, data, stat)

    def save_logbook(self, book: LogBook) -> LogBook:
        """Store a logbook with its flow and atom details in one transaction (stored links are kept)."""

        def attempt() -> LogBook:
            txn = self._transaction()
            read = self._read_or_none("books", book.uuid, "logbook")
            if read is not None:
                book.updated_at = now_iso()
            for flow_detail in book:
                self._add_flow(txn, flow_detail, every_atom=True)
            data = book.to_dict(include_flows=False)
            node = self._node("books", book.uuid)
            stored, stat = (None, None) if read is None else read
            data["flows"] = self._merged(stored, "flows", [f.uuid for f in book], node)
            self._put(txn, "books", book.uuid, data, stat)
            self._commit(txn, f"save logbook {book.uuid}")
            return book

        return self._retrying(f"save logbook {book.uuid}", attempt)

    def update_flow_details(self, flow_detail: FlowDetail) -> FlowDetail:
        """Store a flow detail's fields and any of its atom details not stored yet (one transaction).

        ``NotFoundError`` if the flow detail was never stored (save it in its logbook first).
        """

        def attempt() -> FlowDetail:
            txn = self._transaction()
            self._add_flow(txn, flow_detail, every_atom=False, stored_only=True)
            self._commit(txn, f"save flow detail {flow_detail.uuid}")
            return flow_detail

        return self._retrying(f"save flow detail {flow_detail.uuid}", attempt)

    def update_atom_details(self, atom_detail: AtomDetail) -> AtomDetail:
        """Store one atom detail: one ``set`` of its znode.

        ``NotFoundError`` if the atom detail was never stored (``update_flow_details``
        of its flow detail stores it).
        """
        from kazoo.exceptions import NoNodeError

        node = self._node("atoms", atom_detail.uuid)
        raw = self._encode(atom_detail.to_dict(), node)
        zk = self._ensure()
        missing = NotFoundError(
            f"atom detail {atom_detail.name!r} ({atom_detail.uuid}) is not stored in ZooKeeper at "
            f"{self.hosts}{self.path}; add it to its flow detail and update_flow_details() it first"
        )
        if _CURRENT_FENCE.get() is not None:  # fenced: the set and the fence's check, one transaction

            def attempt() -> None:
                txn = self._transaction()
                txn.set_data(node, raw)
                with self._translate(f"save atom detail {atom_detail.uuid}"):
                    results = txn.commit()
                if isinstance(results[-1], NoNodeError) and not isinstance(results[0], Exception):
                    raise missing
                self._check_results(results, f"save atom detail {atom_detail.uuid}")

            self._retrying(f"save atom detail {atom_detail.uuid}", attempt)
            return atom_detail
        with self._translate(f"save atom detail {atom_detail.uuid}"):
            try:
                zk.set(node, raw)
            except NoNodeError:
                raise missing from None
        return atom_detail

    def destroy_logbook(self, book_uuid: str) -> None:
        """Remove a logbook, its flow and atom details and their claims, in one transaction."""

        def attempt() -> None:
            data, stat = self._read("books", book_uuid, "logbook")
            txn = self._transaction()
            for flow_uuid in self._links(data, "flows", self._node("books", book_uuid)):
                read = self._read_or_none("flows", flow_uuid, "flow detail")
                if read is None:
                    continue
                atoms = self._links(read[0], "atoms", self._node("flows", flow_uuid))
                for atom_uuid, there in self._exists("atoms", atoms).items():
                    if there:
                        txn.delete(self._node("atoms", atom_uuid))
                if self._exists("claims", [flow_uuid])[flow_uuid]:
                    txn.delete(self._node("claims", flow_uuid))
                txn.delete(self._node("flows", flow_uuid), version=read[1].version)
            txn.delete(self._node("books", book_uuid), version=stat.version)
            self._commit(txn, f"destroy logbook {book_uuid}")

        self._retrying(f"destroy logbook {book_uuid}", attempt)

    def clear_all(self) -> None:
        """Remove every record under the backend's path (the znodes are made again)."""
        zk = self._zk()
        with self._translate("clear its records"):
            zk.delete(self.path, recursive=True)
        self._ready = False
        self.upgrade()

    # -- claims -----------------------------------------------------------------------------

    def _read_claim(self, flow_uuid: str) -> tuple[str, Any] | None:
        read = self._read_or_none("claims", flow_uuid, "claim")
        if read is None:
            return None
        owner = read[0].get("owner")
        if not isinstance(owner, str):
            raise StorageError(
                f"corrupt claim record in znode {self._node('claims', flow_uuid)!r}: {read[0]!r}"
            )
        return owner, read[1]

    def get_claim(self, flow_uuid: str) -> str | None:
        """The owner holding the flow detail, if any."""
        claim = self._read_claim(flow_uuid)
        return None if claim is None else claim[0]

    def claim_flow(self, flow_uuid: str, owner: str) -> None:
        """Record ``owner`` as running the flow detail.

        ``StorageError`` if another owner holds it, unless that owner is a
        process of this host that has exited (its claim is broken).
        """

        def attempt() -> None:
            current = self._read_claim(flow_uuid)
            refused = claim_refused(flow_uuid, None if current is None else current[0], owner)
            if refused is not None:
                raise refused
            txn = self._transaction()
            record = {"name": flow_uuid, "owner": owner, "claimed_at": now_iso()}
            self._put(txn, "claims", flow_uuid, record, None if current is None else current[1])
            self._commit(txn, f"claim flow detail {flow_uuid}")

        self._retrying(f"claim flow detail {flow_uuid}", attempt)

    def release_flow(self, flow_uuid: str, owner: str) -> None:
        """Drop ``owner``'s claim, if it holds one."""

        def attempt() -> None:
            try:
                current = self._read_claim(flow_uuid)
            except StorageError:
                current = (owner, None)  # a corrupt claim of ours: remove it rather than keep the flow locked
            if current is None or current[0] != owner:
                return
            txn = self._transaction()
            txn.delete(
                self._node("claims", flow_uuid), version=-1 if current[1] is None else current[1].version
            )
            self._commit(txn, f"release flow detail {flow_uuid}")

        self._retrying(f"release flow detail {flow_uuid}", attempt)

    def __repr__(self) -> str:
        return f"ZooKeeperBackend({self.hosts!r}, path={self.path!r})"

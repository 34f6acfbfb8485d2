"""``EtcdJobBoard``: a jobboard in etcd v3 (etcd3gw, the gRPC gateway), fenced by revisions.

Keys, all under the board's ``path``:

- ``jobs/<uuid>``: the posting (JSON); its create revision is the job's
  sequence, and every claim rewrites it, so its *mod revision* is the
  revision of the job's latest claim;
- ``owners/<uuid>``: ``{"owner": ..., "deadline": ...}``, written in the same
  transaction as the job key: the claim's fencing token is that
  transaction's revision (it only grows). The deadline (wall clock: keep
  the hosts on NTP) makes a claim lapse ``expiry`` seconds after its last
  extension; a lapsed owner key is replaced by the next claimant;
- ``abandons/<uuid>``: failed attempts; ``trash/<uuid>``: trashed postings.

Claims, extensions and finishes are etcd transactions comparing the job
key's mod revision with the token and the owner key's mod revision with the
one just read, so a holder whose claim lapsed and was taken over is refused.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from greenflow.exceptions import (
    InvalidOptionError,
    JobError,
    JobNotFoundError,
    UnclaimableJobError,
)
from greenflow.jobs._base import BACKING_OFF, Claim, Job, JobBoard, mask_url

__all__ = ["EtcdJobBoard", "etcd_conf_from_url"]

_DEFAULT_PATH: Final = "/greenflow/jobs"
# How often a finish or an extension is tried again when its transaction lost a race with
# another change of the same still-held claim (this process's heartbeat, say).
_RACE_ATTEMPTS: Final = 5
#: Claims one heartbeat transaction extends: etcd allows 128 operations a side (``--max-txn-ops``),
#: and each claim is compared on two keys.
_EXTEND_BATCH: Final = 64
_OPTIONS: Final = frozenset(
    {
        "host",
        "port",
        "protocol",
        "path",
        "timeout",
        "ca_cert",
        "cert_key",
        "cert_cert",
        "api_path",
        "board",
        "url",
    }
)


def etcd_conf_from_url(url: str) -> dict[str, Any]:
    """A board configuration from ``etcd://host:port/path?timeout=S`` (``etcds://`` for https)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("etcd", "etcds"):
        raise InvalidOptionError(f"an etcd jobboard URL starts with etcd://, got {mask_url(url)!r}")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    conf: dict[str, Any] = {}
    host, colon, port = netloc.rpartition(":")
    if colon and port.isdigit():
        conf["host"], conf["port"] = host.strip("[]"), int(port)
    elif netloc:
        conf["host"] = netloc
    if scheme == "etcds":
        conf["protocol"] = "https"
    if path.strip("/"):
        conf["path"] = "/" + path.strip("/")
    conf.update(parse_qsl(query, keep_blank_values=True))
    return conf


def _enc(value: str | bytes) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


@functools.cache
def _tls_session_class() -> type[Any]:
    """A requests session whose own ``verify`` (the board's ``ca_cert``) is what a request verifies with.

    Plain requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` in the environment override a
    session's ``verify``, so a board given its CA would verify the server against the system's
    bundle instead, and fail (or trust what the board's CA did not sign). Made on first use:
    requests comes with etcd3gw.
    """
    import requests

    class TlsSession(requests.Session):
        def merge_environment_settings(
            self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
        ) -> dict[str, Any]:
            if verify is None and self.verify is not True:
                verify = self.verify
            settings: dict[str, Any] = super().merge_environment_settings(url, proxies, stream, verify, cert)
            return settings

    return TlsSession


class EtcdJobBoard(JobBoard):
    """A jobboard kept in etcd (see the module docstring for its keys).

    ``conf`` holds TaskFlow's etcd board options: ``host``, ``port`` (2379),
    ``protocol``, ``ca_cert``/``cert_key``/``cert_cert``, ``api_path``,
    ``timeout``, and ``path`` (default ``/greenflow/jobs``), or ``url``
    (``etcd://host:2379/path``). A claim with no expiry is held until released.
    """

    DEFAULT_EXPIRY = None

    def __init__(
        self, name: str, conf: Mapping[str, Any], persistence: Any = None, client: Any = None
    ) -> None:
        conf = dict(conf)
        if "url" in conf:
            conf = {**etcd_conf_from_url(conf.pop("url")), **conf}
        unknown = set(conf) - _OPTIONS
        if unknown:
            raise InvalidOptionError(
                f"unknown etcd jobboard option(s) {sorted(unknown)} for board {name!r}; "
                f"known: {sorted(_OPTIONS)}"
            )
        path = str(conf.get("path") or _DEFAULT_PATH)
        if not path.startswith("/") or path == "/":
            raise InvalidOptionError(f"an etcd jobboard path is absolute and not '/', got {path!r}")
        self.path = path.rstrip("/")
        self.host = str(conf.get("host") or "127.0.0.1")
        try:
            self.port = int(conf.get("port") or 2379)
            self.timeout = float(conf.get("timeout", 10.0))
        except (TypeError, ValueError):
            raise InvalidOptionError(
                f"the port and timeout of etcd jobboard {name!r} are numbers, got "
                f"{conf.get('port')!r} and {conf.get('timeout')!r}"
            ) from None
        super().__init__(name, conf, persistence)
        self._client = client
        self._owns_client = client is None
        self._connected = False

    def _k(self, kind: str, job_uuid: str = "") -> str:
        return f"{self.path}/{kind}/{job_uuid}"

    # -- connection ---------------------------------------------------------------------------

    def _make_client(self) -> Any:
        try:
            with warnings.catch_warnings():  # its futurist import may warn about eventlet
                warnings.simplefilter("ignore")
                from etcd3gw.client import Etcd3Client
        except ImportError as exc:
            raise InvalidOptionError(
                f"the etcd jobboard needs etcd3gw ({exc}); install it with: pip install greenflow[etcd]"
            ) from exc
        options = {k: self._conf[k] for k in ("protocol", "api_path") if self._conf.get(k)}
        session = _tls_session_class()()
        if self._conf.get("ca_cert"):
            session.verify = self._conf["ca_cert"]
        if self._conf.get("cert_cert") and self._conf.get("cert_key"):
            session.cert = (self._conf["cert_cert"], self._conf["cert_key"])
        return Etcd3Client(host=self.host, port=self.port, timeout=self.timeout, session=session, **options)

    @property
    def connected(self) -> bool:
        """Whether ``connect()`` succeeded and ``close()`` was not called since."""
        return self._client is not None and self._connected

    def connect(self) -> None:
        """Reach the server."""
        if self._client is None:
            self._client = self._make_client()
        with self._translate("connect to"):
            self._client.status()
            self._connected = True

    def close(self) -> None:
        """Drop the board's HTTP session."""
        client, self._client = self._client, None
        self._connected = False
        if client is not None and self._owns_client:
            with contextlib.suppress(Exception):
                client.session.close()

    @contextlib.contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from etcd3gw.exceptions import Etcd3Exception
        try:
            yield
        except (Etcd3Exception, OSError) as exc:
            raise JobError(
                f"jobboard {self.name!r} could not {doing} etcd at {self.host}:{self.port} (path "
                f"{self.path!r}): {type(exc).__name__}: {exc}"
            ) from exc

    def _etcd(self) -> Any:
        if not self._connected:
            self.connect()
        return self._client

    def _get(self, key: str) -> tuple[bytes, dict[str, Any]] | None:
        found = self._etcd().get(key, metadata=True)
        if not found:
            return None
        value, meta = found[0]
        return value, meta

    def _prefix(self, kind: str) -> list[tuple[bytes, dict[str, Any]]]:
        found: list[tuple[bytes, dict[str, Any]]] = self._etcd().get_prefix(self._k(kind))
        return found

    def _txn(self, compare: list[dict[str, Any]], success: list[dict[str, Any]]) -> int | None:
        """Run a transaction; its revision when the comparisons held, ``None`` when not."""
        result = self._etcd().transaction({"compare": compare, "success": success, "failure": []})
        if not result.get("succeeded"):
            return None
        return int(result["header"]["revision"])

    @staticmethod
    def _mod_is(key: str, revision: int) -> dict[str, Any]:
        return {"key": _enc(key), "result": "EQUAL", "target": "MOD", "mod_revision": str(revision)}

    @staticmethod
    def _put(key: str, value: bytes | str) -> dict[str, Any]:
        return {"request_put": {"key": _enc(key), "value": _enc(value)}}

    @staticmethod
    def _delete(key: str) -> dict[str, Any]:
        return {"request_delete_range": {"key": _enc(key)}}

    # -- reading ------------------------------------------------------------------------------

    def _job(self, data: bytes, meta: Mapping[str, Any]) -> Job:
        try:
            job = Job.from_posting(self, json.loads(data))
        except (ValueError, KeyError, TypeError) as exc:
            raise JobError(f"jobboard {self.name!r} holds a malformed posting {data[:200]!r}: {exc}") from exc
        job.sequence = int(meta["create_revision"])
        return job

    @staticmethod
    def _live(deadline: float | None) -> bool:
        return deadline is None or deadline > time.time()

    def _read_owner(self, job_uuid: str) -> tuple[str, float | None, int] | None:
        found = self._get(self._k("owners", job_uuid))
        if found is None:
            return None
        record = json.loads(found[0])
        return str(record["owner"]), record.get("deadline"), int(found[1]["mod_revision"])

    def _post(self, job: Job) -> int:
        key = self._k("jobs", job.uuid)
        with self._translate("post a job on"):
            revision = self._txn(
                [{"key": _enc(key), "result": "EQUAL", "target": "CREATE", "create_revision": "0"}],
                [self._put(key, self._dumps(job.to_posting()))],
            )
        if revision is None:
            raise JobError(f"job {job.uuid} is already on board {self.name!r}")
        return revision

    def _scan(self, only_unclaimed: bool, limit: int | None) -> list[Job]:
        with self._translate("list the jobs of"):
            postings = self._prefix("jobs")
            owners = self._prefix("owners") if only_unclaimed else []
        held = set()
        for value, meta in owners:
            if self._live(json.loads(value).get("deadline")):
                held.add(str(meta["key"]).rpartition("/")[2])
        jobs = [
            self._job(value, meta)
            for value, meta in postings
            if str(meta["key"]).rpartition("/")[2] not in held
        ]
        jobs.sort()
        return jobs[:limit] if limit else jobs

    def _count(self) -> int:
        with self._translate("count the jobs of"):
            return len(self._prefix("jobs"))

    def _current_claim(self, job_uuid: str) -> Claim | None:
        with self._translate("read a claim on"):
            found = self._get(self._k("jobs", job_uuid))
            if found is None:
                raise JobNotFoundError(f"job {job_uuid} is not on board {self.name!r}")
            current = self._read_owner(job_uuid)
        if current is None or current[0] == BACKING_OFF or not self._live(current[1]):
            return None
        return Claim(job_uuid, current[0], int(found[1]["mod_revision"]), None)

    # -- claims -------------------------------------------------------------------------------

    @classmethod
    def _owner_data(cls, who: str, deadline: float | None) -> str:
        return cls._dumps({"owner": who, "deadline": deadline})

    def _claim(self, job: Job, who: str, expiry: float | None) -> Claim:
        job_key, owner_key = self._k("jobs", job.uuid), self._k("owners", job.uuid)
        with self._translate("claim a job on"):
            found = self._get(job_key)
            if found is None:
                raise JobNotFoundError(f"job {job.name!r} ({job.uuid}) is not on board {self.name!r}")
            current = self._read_owner(job.uuid)
            if current is not None and self._live(current[1]):
                holder = "a back-off" if current[0] == BACKING_OFF else current[0]
                raise UnclaimableJobError(f"job {job.name!r} ({job.uuid}) is already claimed by {holder!r}")
            deadline = None if expiry is None else time.time() + expiry
            token = self._txn(
                [
                    self._mod_is(job_key, int(found[1]["mod_revision"])),
                    self._mod_is(owner_key, 0 if current is None else current[2]),
                ],
                [self._put(job_key, found[0]), self._put(owner_key, self._owner_data(who, deadline))],
            )
        if token is None:
            raise UnclaimableJobError(
                f"job {job.name!r} ({job.uuid}) was claimed by another claimant at the same time"
            )
        return Claim(job.uuid, who, token, expiry)

    def _held(self, claim: Claim) -> tuple[int, float | None] | None:
        """``(owner mod revision, deadline)`` while ``claim`` holds its job, else ``None``."""
        found = self._get(self._k("jobs", claim.job))
        if found is None or int(found[1]["mod_revision"]) != claim.token:
            return None
        current = self._read_owner(claim.job)
        if current is None or current[0] != claim.owner or not self._live(current[1]):
            return None
        return current[2], current[1]

    def _verify(self, claim: Claim) -> bool:
        with self._translate("check a claim on"):
            return self._held(claim) is not None

    def _extend(self, claims: list[Claim], expiry: float) -> list[bool]:
        """Extend many claims in two transactions per ``_EXTEND_BATCH`` claims, not three requests each."""
        with self._translate("extend claims on"):
            flags: list[bool] = []
            for start in range(0, len(claims), _EXTEND_BATCH):
                flags.extend(self._extend_batch(claims[start : start + _EXTEND_BATCH], expiry))
            return flags

    def _extend_batch(self, claims: list[Claim], expiry: float) -> list[bool]:
        """One transaction reads every job and owner key (one revision), one extends the claims held.

        When the second one's comparisons fail (a key changed in between),
        each of those claims is decided on its own (``_extend_one``).
        """
        keys = [key for c in claims for key in (self._k("jobs", c.job), self._k("owners", c.job))]
        read = self._etcd().transaction(
            {"compare": [], "success": [{"request_range": {"key": _enc(k)}} for k in keys], "failure": []}
        )
        responses = read.get("responses") or []
        if len(responses) != len(keys):
            raise JobError(f"jobboard {self.name!r}: etcd answered {len(responses)} reads of {len(keys)}")

        def kv(k: int) -> dict[str, Any] | None:
            found = (responses[k].get("response_range") or {}).get("kvs") or []
            return dict(found[0]) if found else None

        held: list[tuple[int, int]] = []  # (index in claims, owner key's mod revision)
        for k, claim in enumerate(claims):
            job_kv, owner_kv = kv(2 * k), kv(2 * k + 1)
            if job_kv is None or owner_kv is None or int(job_kv["mod_revision"]) != claim.token:
                continue
            record = json.loads(base64.b64decode(owner_kv.get("value", "")))
            if record.get("owner") != claim.owner or not self._live(record.get("deadline")):
                continue
            held.append((k, int(owner_kv["mod_revision"])))
        flags = [False] * len(claims)
        if not held:
            return flags
        deadline = time.time() + expiry
        compare: list[dict[str, Any]] = []
        success: list[dict[str, Any]] = []
        for k, owner_revision in held:
            claim = claims[k]
            owner_key = self._k("owners", claim.job)
            compare += [
                self._mod_is(self._k("jobs", claim.job), claim.token),
                self._mod_is(owner_key, owner_revision),
            ]
            success.append(self._put(owner_key, self._owner_data(claim.owner, deadline)))
        if self._txn(compare, success) is not None:
            for k, _ in held:
                flags[k] = True
            return flags
        for k, _ in held:  # some key changed since the read: decide each claim on its own
            flags[k] = self._extend_one(claims[k], expiry)
        return flags

    def _extend_one(self, claim: Claim, expiry: float) -> bool:
        owner_key = self._k("owners", claim.job)
        for _ in range(_RACE_ATTEMPTS):
            held = self._held(claim)
            if held is None:
                return False
            compare = [
                self._mod_is(self._k("jobs", claim.job), claim.token),
                self._mod_is(owner_key, held[0]),
            ]
            extended = self._put(owner_key, self._owner_data(claim.owner, time.time() + expiry))
            if self._txn(compare, [extended]) is not None:
                return True
        raise JobError(
            f"jobboard {self.name!r} could not extend the claim on job {claim.job}: the claim of "
            f"{claim.owner!r} (token {claim.token}) still holds, but its keys changed under each of "
            f"{_RACE_ATTEMPTS} attempts"
        )

    def _expires_in(self, job_uuid: str) -> float | None:
        with self._translate("read a claim's expiry on"):
            current = self._read_owner(job_uuid)
        if current is None or current[1] is None:
            return None
        left = current[1] - time.time()
        return left if left > 0 else None

    def _fenced_finish(
        self, action: str, job: Job, claim: Claim, reason: str | None, retry_after: float | None
    ) -> int:
        with self._translate(f"{action} a job on"):
            found = self._get(self._k("jobs", job.uuid))
            if found is None:
                raise JobNotFoundError(
                    f"cannot {action} job {job.name!r} ({job.uuid}): it is not on board {self.name!r}"
                )
            for _ in range(_RACE_ATTEMPTS):
                count = self._finish_attempt(action, job, claim, reason, retry_after, found[0])
                if count is not None:
                    return count
        raise JobError(
            f"jobboard {self.name!r} could not {action} job {job.name!r} ({job.uuid}): the claim of "
            f"{claim.owner!r} (token {claim.token}) still holds, but its keys changed under each of "
            f"{_RACE_ATTEMPTS} attempts"
        )

    def _finish_attempt(
        self,
        action: str,
        job: Job,
        claim: Claim,
        reason: str | None,
        retry_after: float | None,
        posting: bytes,
    ) -> int | None:
        """One transaction finishing ``job``: the abandon count, or ``None`` if it lost a race.

        ``ClaimLostError`` when ``claim`` no longer holds the job.
        """
        job_key, owner_key = self._k("jobs", job.uuid), self._k("owners", job.uuid)
        abandons_key = self._k("abandons", job.uuid)
        held = self._held(claim)
        if held is None:
            raise self._claim_lost(action, job, claim)
        counted = self._get(abandons_key)
        count = 0 if counted is None else int(counted[0] or 0)
        compare = [self._mod_is(job_key, claim.token), self._mod_is(owner_key, held[0])]
        compare.append(self._mod_is(abandons_key, 0 if counted is None else int(counted[1]["mod_revision"])))
        ops: list[dict[str, Any]] = []
        if action == "abandon":
            if retry_after:
                ops.append(self._put(job_key, posting))  # a new claim generation: the old token is void
                ops.append(self._put(owner_key, self._owner_data(BACKING_OFF, time.time() + retry_after)))
            else:
                ops.append(self._delete(owner_key))
            if reason:
                count += 1
                ops.append(self._put(abandons_key, str(count)))
        else:
            if action == "trash":
                record = job.to_trash_record(reason, claim.owner)
                ops.append(self._put(self._k("trash", job.uuid), self._dumps(record)))
            ops.extend([self._delete(job_key), self._delete(owner_key), self._delete(abandons_key)])
            count = 0
        if self._txn(compare, ops) is None:
            return None  # the next attempt's read says whether the claim still holds
        return count

    def _abandons(self, job_uuid: str) -> int:
        with self._translate("read abandons on"):
            found = self._get(self._k("abandons", job_uuid))
        return 0 if found is None else int(found[0] or 0)

    def _trashed(self) -> list[dict[str, Any]]:
        with self._translate("read the trash of"):
            return [json.loads(value) for value, _ in self._prefix("trash")]

    def destroy(self) -> None:
        """Delete every key under the board's ``path`` (tests and tear-down)."""
        with self._translate("clear"):
            self._etcd().delete_prefix(self.path + "/")

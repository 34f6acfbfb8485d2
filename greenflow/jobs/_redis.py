"""``RedisJobBoard``: a jobboard on Redis, with atomic fenced claims in Lua.

Keys, all under ``<namespace>:``:

- ``postings``: hash job uuid -> posting (JSON); ``queue``: sorted set of job
  uuids by (priority, sequence), the order jobs are handed out in;
- ``ready``: the jobs of ``queue`` nobody holds (same scores), and ``leased``:
  the held or backing-off ones, scored by the server time (ms) their owner
  key was last known to expire (``+inf``: no expiry). Claiming takes from the
  head of ``ready`` and moves only the ``leased`` entries due by now back
  (lapsed) or on (extended), so a claim costs O(log n + batch), not a scan
  of every live job; the owner keys stay the truth, the two sets an index
  (``connect()`` builds it for a namespace written before it existed);
- ``owner:<uuid>``: ``"<token>|<owner>"`` with the claim's expiry as the key's
  TTL, so a claim lapses on its own when its holder stops extending it;
- ``fence``: the counter fencing tokens come from (it only grows);
- ``seq``: posting sequence numbers; ``abandons``: hash uuid -> failed
  attempts; ``trash``: hash uuid -> trashed posting with its reason.

Every claim, extension, consume, abandon and trash is one Lua script, so the
check of the holder's token and the change are atomic on the server.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from greenflow.exceptions import (
    InvalidOptionError,
    JobError,
    JobNotFoundError,
    UnclaimableJobError,
)
from greenflow.jobs._base import BACKING_OFF, Claim, Job, JobBoard, mask_url

__all__ = ["RedisJobBoard", "redis_conf_from_url"]

_LOG = logging.getLogger(__name__)

_DEFAULT_NAMESPACE: Final = "greenflow"

# The client options a board's configuration may set, and how to read each from a URL's text.
_BOOL_TRUE: Final = frozenset({"1", "true", "yes", "on"})


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _BOOL_TRUE


_CLIENT_OPTIONS: Final[dict[str, Any]] = {
    "host": str,
    "port": int,
    "db": int,
    "username": str,
    "password": str,
    "socket_timeout": float,
    "socket_connect_timeout": float,
    "health_check_interval": int,
    "retry_on_timeout": _bool,
    "unix_socket_path": str,
    "ssl": _bool,
    "ssl_keyfile": str,
    "ssl_certfile": str,
    "ssl_cert_reqs": str,
    "ssl_ca_certs": str,
    "ssl_check_hostname": _bool,
}
_BOARD_OPTIONS: Final = frozenset(
    {"namespace", "sentinel", "sentinel_fallbacks", "sentinel_kwargs", "max_connections", "board", "url"}
)

# The server's clock in ms (scripts replicate their effects, so reading it before writing is safe).
_NOW: Final = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function deadline(ms) if ms >= 0 then return now + ms end return '+inf' end
"""

_CLAIM: Final = (
    _NOW
    + """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {-1, ''} end
local current = redis.call('GET', KEYS[2])
if current then return {0, current} end
local token = redis.call('INCR', KEYS[3])
local value = token .. '|' .. ARGV[2]
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], value, 'PX', ARGV[3])
  redis.call('ZADD', KEYS[5], deadline(tonumber(ARGV[3])), ARGV[1])
else
  redis.call('SET', KEYS[2], value)
  redis.call('ZADD', KEYS[5], '+inf', ARGV[1])
end
redis.call('ZREM', KEYS[4], ARGV[1])
return {1, token}
"""
)

# KEYS: queue, postings, fence, ready, leased; ARGV: owner prefix, who, limit, expiry ms, most due to recheck.
_CLAIM_NEXT: Final = (
    _NOW
    + """
local prefix = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(due) do
  local ttl = redis.call('PTTL', prefix .. id)
  if ttl == -2 then
    redis.call('ZREM', KEYS[5], id)
    local score = redis.call('ZSCORE', KEYS[1], id)
    if score then redis.call('ZADD', KEYS[4], score, id) end
  else
    redis.call('ZADD', KEYS[5], deadline(ttl), id)
  end
end
local out = {}
local limit = tonumber(ARGV[3])
local ms = tonumber(ARGV[4])
while #out < 2 * limit do
  local ids = redis.call('ZRANGE', KEYS[4], 0, limit - 1)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    redis.call('ZREM', KEYS[4], id)
    local owner_key = prefix .. id
    local ttl = redis.call('PTTL', owner_key)
    if ttl ~= -2 then
      redis.call('ZADD', KEYS[5], deadline(ttl), id)
    else
      local posting = redis.call('HGET', KEYS[2], id)
      if posting then
        local token = redis.call('INCR', KEYS[3])
        local value = token .. '|' .. ARGV[2]
        if ms > 0 then
          redis.call('SET', owner_key, value, 'PX', ms)
          redis.call('ZADD', KEYS[5], deadline(ms), id)
        else
          redis.call('SET', owner_key, value)
          redis.call('ZADD', KEYS[5], '+inf', id)
        end
        out[#out + 1] = posting
        out[#out + 1] = token
        if #out >= 2 * limit then break end
      end
    end
  end
end
return out
"""
)

# Builds ``ready`` from ``queue`` once for a namespace written before the index existed.
_INDEX: Final = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #ids, 2 do redis.call('ZADD', KEYS[2], ids[i + 1], ids[i]) end
redis.call('SET', KEYS[3], '1')
return #ids / 2
"""

_EXTEND: Final = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ARGV[1])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""

_FINISH: Final = (
    _NOW
    + """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
if redis.call('GET', KEYS[3]) ~= ARGV[2] then return -2 end
redis.call('DEL', KEYS[3])
if ARGV[3] == 'abandon' then
  local backoff = tonumber(ARGV[6])
  if backoff > 0 then
    redis.call('SET', KEYS[3], ARGV[7], 'PX', backoff)
    redis.call('ZADD', KEYS[7], deadline(backoff), ARGV[1])
  else
    redis.call('ZREM', KEYS[7], ARGV[1])
    local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
    if score then redis.call('ZADD', KEYS[6], score, ARGV[1]) end
  end
  if ARGV[5] == '1' then return redis.call('HINCRBY', KEYS[4], ARGV[1], 1) end
  return tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
end
if ARGV[3] == 'trash' then redis.call('HSET', KEYS[5], ARGV[1], ARGV[4]) end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 0
"""
)

_SCAN: Final = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
local limit = tonumber(ARGV[3])
for _, id in ipairs(ids) do
  local owned = redis.call('EXISTS', ARGV[1] .. id) == 1
  if ARGV[2] == '0' or not owned then
    local posting = redis.call('HGET', KEYS[2], id)
    if posting then out[#out + 1] = posting end
    if limit > 0 and #out >= limit then break end
  end
end
return out
"""


def redis_conf_from_url(url: str) -> dict[str, Any]:
    """A board configuration from ``redis://[user:password@]host:port/db?namespace=...&...``.

    ``rediss://`` turns SSL on; query options are the board's options
    (``namespace``, ``sentinel``, ``sentinel_fallbacks`` comma-separated,
    ``ssl``, ``ssl_ca_certs``, ``socket_timeout``...).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise InvalidOptionError(
            f"a Redis jobboard URL starts with redis:// or rediss://, got {mask_url(url)!r}"
        )
    conf: dict[str, Any] = {}
    if parts.hostname:
        conf["host"] = parts.hostname
    if parts.port:
        conf["port"] = parts.port
    if parts.username:
        conf["username"] = unquote(parts.username)
    if parts.password:
        conf["password"] = unquote(parts.password)
    path = parts.path.strip("/")
    if path:
        if not path.isdigit():
            raise InvalidOptionError(
                f"the path of Redis jobboard URL {mask_url(url)!r} must be a database number, got {path!r}"
            )
        conf["db"] = int(path)
    if parts.scheme == "rediss":
        conf["ssl"] = True
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "sentinel_fallbacks":
            conf[key] = [item for item in value.split(",") if item]
        else:
            conf[key] = value
    return conf


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InvalidOptionError(f"a sentinel is named host:port, got {text!r}")
    return host.strip("[]"), int(port)


class RedisJobBoard(JobBoard):
    """A jobboard kept in Redis (see the module docstring for its keys).

    ``conf`` holds the client options TaskFlow's Redis board takes (``host``,
    ``port``, ``db``, ``username``, ``password``, ``namespace``, ``sentinel``
    with ``sentinel_fallbacks`` and ``sentinel_kwargs``, ``ssl`` and the
    ``ssl_*`` files, ``socket_timeout``...) or ``url`` (``redis://...``).
    """

    DEFAULT_EXPIRY = None
    #: The most held claims one ``claim_next`` rechecks (lapsed ones become claimable again).
    RECHECK_BATCH = 1000

    def __init__(
        self, name: str, conf: Mapping[str, Any], persistence: Any = None, client: Any = None
    ) -> None:
        conf = dict(conf)
        if "url" in conf:
            conf = {**redis_conf_from_url(conf.pop("url")), **conf}
        unknown = set(conf) - set(_CLIENT_OPTIONS) - _BOARD_OPTIONS
        if unknown:
            raise InvalidOptionError(
                f"unknown Redis jobboard option(s) {sorted(unknown)} for board {name!r}; known: "
                f"{sorted(set(_CLIENT_OPTIONS) | _BOARD_OPTIONS)}"
            )
        super().__init__(name, conf, persistence)
        ns = str(conf.get("namespace") or _DEFAULT_NAMESPACE)
        self.namespace = ns
        self._k_postings = f"{ns}:postings"
        self._k_queue = f"{ns}:queue"
        self._k_ready = f"{ns}:ready"
        self._k_leased = f"{ns}:leased"
        self._k_indexed = f"{ns}:indexed"
        self._k_fence = f"{ns}:fence"
        self._k_seq = f"{ns}:seq"
        self._k_abandons = f"{ns}:abandons"
        self._k_trash = f"{ns}:trash"
        self._owner_prefix = f"{ns}:owner:"
        self._client = client
        self._owns_client = client is None
        self._scripts: dict[str, Any] = {}

    def _owner_key(self, job_uuid: str) -> str:
        return self._owner_prefix + job_uuid

    # -- connection ---------------------------------------------------------------------------

    def _make_client(self) -> Any:
        try:
            import redis
            import redis.sentinel
        except ImportError as exc:
            raise InvalidOptionError(
                f"the Redis jobboard needs the redis client ({exc}); "
                "install it with: pip install greenflow[redis]"
            ) from exc
        conf = self._conf
        options: dict[str, Any] = {}
        for key, convert in _CLIENT_OPTIONS.items():
            if key in conf and conf[key] is not None:
                options[key] = convert(conf[key])
        options["decode_responses"] = True
        try:  # redis-py 6+ probes every connection for maintenance notifications Redis < 8 lacks
            from redis.maint_notifications import MaintNotificationsConfig

            options["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
        except ImportError:
            pass
        if not options.get("ssl"):
            options = {k: v for k, v in options.items() if not k.startswith("ssl")}
        sentinel = conf.get("sentinel")
        if sentinel:
            sentinels = [(options.pop("host", "127.0.0.1"), options.pop("port", 26379))]
            fallbacks = conf.get("sentinel_fallbacks") or []
            if isinstance(fallbacks, str):
                fallbacks = [f for f in fallbacks.split(",") if f]
            sentinels.extend(_host_port(f) for f in fallbacks)
            sentinel_kwargs = dict(conf.get("sentinel_kwargs") or {})
            if not _bool(sentinel_kwargs.get("ssl", False)):
                sentinel_kwargs = {k: v for k, v in sentinel_kwargs.items() if not k.startswith("ssl")}
            return redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
                sentinels, sentinel_kwargs=sentinel_kwargs or None, **options
            ).master_for(str(sentinel))  # type: ignore[no-untyped-call]
        max_connections = int(conf.get("max_connections") or 64)
        decode = options.pop("decode_responses")
        maint = options.pop("maint_notifications_config", None)
        if options.pop("ssl", False):
            options["connection_class"] = redis.SSLConnection
        if "unix_socket_path" in options:
            options["path"] = options.pop("unix_socket_path")
            options.pop("host", None)
            options.pop("port", None)
            options["connection_class"] = redis.UnixDomainSocketConnection
        options.pop("retry_on_timeout", None)
        # Bounded and blocking: thousands of green jobs share a few dozen connections.
        pool = redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
            max_connections=max_connections, timeout=None, decode_responses=decode, **options
        )
        extra = {} if maint is None else {"maint_notifications_config": maint}
        return redis.Redis(connection_pool=pool, **extra)

    @property
    def connected(self) -> bool:
        """Whether ``connect()`` succeeded and ``close()`` was not called since."""
        return self._client is not None and bool(self._scripts)

    def connect(self) -> None:
        """Reach the server and load the board's scripts."""
        if self._client is None:
            self._client = self._make_client()
        with self._translate("connect to"):
            self._client.ping()
            client = self._client
            self._scripts = {
                "claim": client.register_script(_CLAIM),
                "claim_next": client.register_script(_CLAIM_NEXT),
                "extend": client.register_script(_EXTEND),
                "finish": client.register_script(_FINISH),
                "scan": client.register_script(_SCAN),
            }
            client.register_script(_INDEX)(keys=[self._k_queue, self._k_ready, self._k_indexed])

    def close(self) -> None:
        """Drop the board's connections."""
        client, self._client = self._client, None
        self._scripts = {}
        if client is not None and self._owns_client:
            with contextlib.suppress(Exception):
                client.close()
                client.connection_pool.disconnect()

    @contextlib.contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        import redis

        try:
            yield
        except redis.RedisError as exc:
            where = (
                self._conf.get("sentinel")
                or f"{self._conf.get('host', '127.0.0.1')}:{self._conf.get('port', 6379)}"
            )
            raise JobError(
                f"jobboard {self.name!r} could not {doing} Redis at {where} (namespace "
                f"{self.namespace!r}): {type(exc).__name__}: {exc}"
            ) from exc

    def _script(self, name: str) -> Any:
        if not self._scripts:
            self.connect()
        return self._scripts[name]

    # -- primitives ---------------------------------------------------------------------------

    def _post(self, job: Job) -> int:
        with self._translate("post a job on"):
            client = self._client_checked()
            job.sequence = int(client.incr(self._k_seq))
            pipe = client.pipeline(transaction=True)
            pipe.hset(self._k_postings, job.uuid, self._dumps(job.to_posting()))
            score = job.priority.rank * 1e13 + job.sequence
            pipe.zadd(self._k_queue, {job.uuid: score})
            pipe.zadd(self._k_ready, {job.uuid: score})
            pipe.execute()
        return job.sequence

    def _scan(self, only_unclaimed: bool, limit: int | None) -> list[Job]:
        with self._translate("list the jobs of"):
            postings = self._script("scan")(
                keys=[self._k_queue, self._k_postings],
                args=[self._owner_prefix, "1" if only_unclaimed else "0", limit or 0],
            )
        return [self._job(p) for p in postings]

    def _job(self, text: str) -> Job:
        try:
            return Job.from_posting(self, json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise JobError(f"jobboard {self.name!r} holds a malformed posting {text[:200]!r}: {exc}") from exc

    def _count(self) -> int:
        with self._translate("count the jobs of"):
            return int(self._client_checked().hlen(self._k_postings))

    def _client_checked(self) -> Any:
        if not self._scripts:
            self.connect()
        return self._client

    @staticmethod
    def _parse_owner(job_uuid: str, value: str | None) -> Claim | None:
        if value is None:
            return None
        token, _, owner = value.partition("|")
        if owner == BACKING_OFF:
            return None
        return Claim(job_uuid, owner, int(token), None)

    def _current_claim(self, job_uuid: str) -> Claim | None:
        with self._translate("read a claim on"):
            pipe = self._client_checked().pipeline(transaction=True)
            pipe.hexists(self._k_postings, job_uuid)
            pipe.get(self._owner_key(job_uuid))
            exists, value = pipe.execute()
        if not exists:
            raise JobNotFoundError(f"job {job_uuid} is not on board {self.name!r}")
        return self._parse_owner(job_uuid, value)

    def _claim(self, job: Job, who: str, expiry: float | None) -> Claim:
        if "|" in who:
            raise InvalidOptionError(f"a claim owner must not contain '|', got {who!r}")
        ms = 0 if expiry is None else max(1, int(expiry * 1000))
        with self._translate("claim a job on"):
            status, value = self._script("claim")(
                keys=[
                    self._k_postings,
                    self._owner_key(job.uuid),
                    self._k_fence,
                    self._k_ready,
                    self._k_leased,
                ],
                args=[job.uuid, who, ms],
            )
        status = int(status)
        if status == -1:
            raise JobNotFoundError(f"job {job.name!r} ({job.uuid}) is not on board {self.name!r}")
        if status == 0:
            holder = self._parse_owner(job.uuid, value)
            raise UnclaimableJobError(
                f"job {job.name!r} ({job.uuid}) is already claimed by {holder.owner if holder else '?'!r}"
            )
        return Claim(job.uuid, who, int(value), expiry)

    def _claim_next(self, who: str, limit: int, expiry: float | None) -> list[tuple[Job, Claim]]:
        if "|" in who:
            raise InvalidOptionError(f"a claim owner must not contain '|', got {who!r}")
        ms = 0 if expiry is None else max(1, int(expiry * 1000))
        with self._translate("claim jobs on"):
            out = self._script("claim_next")(
                keys=[self._k_queue, self._k_postings, self._k_fence, self._k_ready, self._k_leased],
                args=[self._owner_prefix, who, limit, ms, self.RECHECK_BATCH],
            )
        pairs = []
        for posting, token in zip(out[::2], out[1::2], strict=True):
            job = self._job(posting)
            pairs.append((job, Claim(job.uuid, who, int(token), expiry)))
        return pairs

    def _verify(self, claim: Claim) -> bool:
        with self._translate("check a claim on"):
            value = self._client_checked().get(self._owner_key(claim.job))
        return bool(value == f"{claim.token}|{claim.owner}")

    def _extend(self, claims: list[Claim], expiry: float) -> list[bool]:
        ms = max(1, int(expiry * 1000))
        with self._translate("extend claims on"):
            flags = self._script("extend")(
                keys=[self._owner_key(c.job) for c in claims],
                args=[ms, *(f"{c.token}|{c.owner}" for c in claims)],
            )
        return [bool(int(f)) for f in flags]

    def _expires_in(self, job_uuid: str) -> float | None:
        with self._translate("read a claim's expiry on"):
            ms = int(self._client_checked().pttl(self._owner_key(job_uuid)))
        return None if ms < 0 else ms / 1000.0

    def _fenced_finish(
        self, action: str, job: Job, claim: Claim, reason: str | None, retry_after: float | None
    ) -> int:
        record = ""
        if action == "trash":
            record = self._dumps(job.to_trash_record(reason, claim.owner))
        with self._translate(f"{action} a job on"):
            status = int(
                self._script("finish")(
                    keys=[
                        self._k_postings,
                        self._k_queue,
                        self._owner_key(job.uuid),
                        self._k_abandons,
                        self._k_trash,
                        self._k_ready,
                        self._k_leased,
                    ],
                    args=[
                        job.uuid,
                        f"{claim.token}|{claim.owner}",
                        action,
                        record,
                        "1" if reason else "0",
                        int(retry_after * 1000) if retry_after else 0,
                        f"0|{BACKING_OFF}",
                    ],
                )
            )
        if status == -1:
            raise JobNotFoundError(
                f"cannot {action} job {job.name!r} ({job.uuid}): it is not on board {self.name!r}"
            )
        if status == -2:
            raise self._claim_lost(action, job, claim)
        return status

    def _abandons(self, job_uuid: str) -> int:
        with self._translate("read abandons on"):
            return int(self._client_checked().hget(self._k_abandons, job_uuid) or 0)

    def _trashed(self) -> list[dict[str, Any]]:
        with self._translate("read the trash of"):
            values = self._client_checked().hvals(self._k_trash)
        return [json.loads(v) for v in values]

    def destroy(self) -> None:
        """Delete every key of this board's namespace (tests and tear-down; never the whole server)."""
        with self._translate("clear"):
            client = self._client_checked()
            keys = [
                self._k_postings,
                self._k_queue,
                self._k_fence,
                self._k_seq,
                self._k_abandons,
                self._k_trash,
                self._k_ready,
                self._k_leased,
                self._k_indexed,
            ]
            keys.extend(client.scan_iter(match=self._owner_prefix + "*", count=1000))
            client.delete(*keys)

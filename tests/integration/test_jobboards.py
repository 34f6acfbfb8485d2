"""The jobboard contract on every board against the real server: Redis, ZooKeeper, and SQL on
SQLite, PostgreSQL and MariaDB (posting, listing, fenced claims, expiry, finishing), plus each
board's configuration."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from greenflow.exceptions import (
    ClaimLostError,
    InvalidOptionError,
    JobError,
    JobNotFoundError,
    UnclaimableJobError,
)
from greenflow.jobs import (
    CLAIMED,
    COMPLETE,
    UNCLAIMED,
    FencedBackend,
    JobBoard,
    JobPriority,
    Lease,
    fetch_jobboard,
    jobboard,
    mask_url,
)
from greenflow.jobs._redis import redis_conf_from_url
from greenflow.persistence import FlowDetail, LogBook, TaskDetail, fetch_backend

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["redis", "sqlite", "postgresql", "mariadb", "zookeeper", "etcd"])
def board(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[JobBoard]:
    backend = fetch_backend("memory://")
    if request.param == "redis":
        url = request.getfixturevalue("redis_board_url")
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/jobs.db"
    elif request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    elif request.param in ("zookeeper", "etcd"):
        url = request.getfixturevalue(f"{request.param}_board_url")
    else:
        url = request.getfixturevalue("mysql_url")
    # A board name of its own: server databases are shared by the session's tests.
    with jobboard(f"board-{uuid.uuid4().hex[:8]}", url, persistence=backend) as b:
        yield b


def test_posted_jobs_are_listed_by_priority_then_age(board: JobBoard) -> None:
    low = board.post("low", priority=JobPriority.LOW)
    first = board.post("first", details={"store": {"x": 1}})
    urgent = board.post("urgent", priority="very_high")
    second = board.post("second")
    assert [j.name for j in board.iterjobs()] == ["urgent", "first", "second", "low"]
    assert board.job_count == 4
    got = next(j for j in board.iterjobs() if j.uuid == first.uuid)
    assert got.details == {"store": {"x": 1}}
    assert got.sequence < second.sequence
    assert {low.state, urgent.state} == {UNCLAIMED}


def test_claim_is_fenced_with_a_growing_token(board: JobBoard) -> None:
    job = board.post("j")
    claim = board.claim(job, "alpha", expiry=5)
    assert job.state == CLAIMED and board.find_owner(job) == "alpha"
    assert [j.name for j in board.iterjobs(only_unclaimed=True)] == []
    with pytest.raises(UnclaimableJobError, match="already claimed by 'alpha'"):
        board.claim(job, "beta")
    board.abandon(job, "alpha")
    assert job.state == UNCLAIMED
    again = board.claim(job, "alpha", expiry=5)
    assert again.token > claim.token
    assert board.verify(again) and not board.verify(claim)
    # The same owner name with the old token is refused: the token, not the name, is the fence.
    with pytest.raises(ClaimLostError, match=f"token {claim.token} no longer holds it"):
        board.consume(job, "alpha", claim=claim)
    board.consume(job, "alpha", claim=again)
    assert job.state == COMPLETE and board.job_count == 0


def test_a_claim_lapses_after_its_expiry_unless_extended(board: JobBoard) -> None:
    job = board.post("j")
    claim = board.claim(job, "alpha", expiry=0.3)
    remaining = job.expires_in()
    assert remaining is not None and 0 < remaining <= 0.3
    time.sleep(0.2)
    assert board.extend_many([claim], 0.6) == [True]
    time.sleep(0.3)
    assert job.state == CLAIMED
    time.sleep(0.5)
    assert job.state == UNCLAIMED and not board.verify(claim)
    taken = board.claim(job, "beta", expiry=5)
    assert taken.token > claim.token
    assert board.extend_many([claim], 5) == [False]
    with pytest.raises(ClaimLostError):
        board.abandon(job, "alpha", claim=claim)
    assert board.find_owner(job) == "beta"


def test_one_heartbeat_extends_the_claims_that_hold_and_only_those(board: JobBoard) -> None:
    """A batch as a conductor's heartbeat sends it: held, lapsed and taken over, consumed, held."""
    jobs = [board.post(f"j{k}") for k in range(5)]
    claims = [board.claim(job, "alpha", expiry=0.4 if k == 1 else 5) for k, job in enumerate(jobs)]
    board.consume(jobs[2], "alpha", claim=claims[2])
    time.sleep(0.5)
    beta = board.claim(jobs[1], "beta", expiry=5)  # alpha's claim lapsed; beta holds the job now
    assert board.extend_many(claims, 2.0) == [True, False, False, True, True]
    for k in (0, 3, 4):
        remaining = jobs[k].expires_in()
        assert remaining is not None and 1.0 < remaining <= 2.0, (k, remaining)
        assert board.verify(claims[k])
    assert board.verify(beta) and board.find_owner(jobs[1]) == "beta"
    assert board.extend_many([], 5) == []


def test_consume_abandon_and_trash_need_the_owner(board: JobBoard) -> None:
    job = board.post("j")
    with pytest.raises(UnclaimableJobError, match="not claimed by anyone"):
        board.consume(job, "alpha")
    board.claim(job, "alpha")
    with pytest.raises(UnclaimableJobError, match="claimed by 'alpha', not by 'beta'"):
        board.trash(job, "beta")
    assert board.abandon(job, "alpha", reason="storage down") == 1
    board.claim(job, "alpha")
    assert board.abandon(job, "alpha") == 1  # a plain abandon (suspended) is not a failed attempt
    board.claim(job, "alpha")
    board.trash(job, "alpha", reason="cannot import factory")
    assert job.state == COMPLETE
    (trashed,) = board.trashed()
    assert trashed["name"] == "j" and trashed["reason"] == "cannot import factory"
    with pytest.raises(JobNotFoundError):
        board.claim(job, "alpha")


def test_wait_returns_unclaimed_jobs_or_times_out(board: JobBoard) -> None:
    with pytest.raises(JobNotFoundError, match=r"within 0\.2 seconds"):
        board.wait(timeout=0.2)
    board.post("j")
    assert [j.name for j in board.wait(timeout=1)] == ["j"]


def test_job_book_is_loaded_from_persistence(board: JobBoard) -> None:
    book = LogBook("orders")
    book.add(FlowDetail("create"))
    board.persistence.get_connection().save_logbook(book)
    job = board.post("j", book=book)
    (listed,) = board.iterjobs()
    assert listed.book_uuid == book.uuid and listed.book_name == "orders"
    loaded = listed.book
    assert loaded is not None and [fd.name for fd in loaded] == ["create"]
    assert job.wait(timeout=0.05) is False


def test_post_rejects_bad_details(board: JobBoard) -> None:
    with pytest.raises(InvalidOptionError, match="must be JSON-serialisable"):
        board.post("j", details={"store": {"x": object()}})
    with pytest.raises(InvalidOptionError, match="must be a dict"):
        board.post("j", details={"store": [1, 2]})
    with pytest.raises(InvalidOptionError, match="unknown job priority"):
        board.post("j", priority="urgentish")


def test_fenced_backend_refuses_writes_once_the_claim_moved(board: JobBoard) -> None:
    backend = fetch_backend("memory://")
    book = LogBook("b")
    fd = FlowDetail("f")
    book.add(fd)
    backend.get_connection().save_logbook(book)
    job = board.post("j", book=book)
    claim = board.claim(job, "alpha", expiry=0.2)
    lease = Lease(board, job, claim)
    lost: list[str] = []
    lease.on_lost(lambda: lost.append("suspend"))
    conn = FencedBackend(backend, lease).get_connection()
    detail = TaskDetail("t")
    fd.add(detail)
    conn.update_flow_details(fd)  # the claim holds: written
    time.sleep(0.3)
    board.claim(job, "beta", expiry=5)
    with pytest.raises(ClaimLostError, match="refusing to record for a lost claim"):
        conn.update_atom_details(detail)
    assert lost == ["suspend"]
    with pytest.raises(ClaimLostError):
        conn.update_flow_details(fd)  # lost stays lost, without asking the board again


def test_url_and_dict_configurations() -> None:
    conf = redis_conf_from_url(
        "rediss://user:s3cret@redis.example:6380/2?namespace=octavia&sentinel=mymaster"
        "&sentinel_fallbacks=h1:26379,h2:26379&ssl_ca_certs=/etc/ca.pem"
    )
    assert conf == {
        "host": "redis.example",
        "port": 6380,
        "username": "user",
        "password": "s3cret",
        "db": 2,
        "ssl": True,
        "namespace": "octavia",
        "sentinel": "mymaster",
        "sentinel_fallbacks": ["h1:26379", "h2:26379"],
        "ssl_ca_certs": "/etc/ca.pem",
    }
    assert mask_url("redis://user:s3cret@h:1/0") == "redis://user:***@h:1/0"
    assert "s3cret" not in mask_url("rediss://:s3cret@h/0?namespace=x")
    board: Any = fetch_jobboard("b", {"board": "redis", "host": "127.0.0.1", "namespace": "n", "db": "0"})
    assert board.namespace == "n"
    with pytest.raises(InvalidOptionError, match="unknown Redis jobboard option"):
        fetch_jobboard("b", {"board": "redis", "hots": "x"})
    with pytest.raises(InvalidOptionError, match="unknown jobboard kind 'zookeper'"):
        fetch_jobboard("b", "zookeper://h/")


def test_unreachable_server_is_a_clear_job_error() -> None:
    board = fetch_jobboard("b", "redis://:pw@127.0.0.1:1/0?namespace=x&socket_connect_timeout=0.5")
    with pytest.raises(JobError, match=r"jobboard 'b' could not connect to Redis at 127.0.0.1:1") as info:
        board.connect()
    assert "pw" not in str(info.value)


def test_claim_next_claims_unclaimed_jobs_in_board_order_in_one_call(board: JobBoard) -> None:
    jobs = [board.post(f"j{i}") for i in range(5)]
    urgent = board.post("urgent", priority=JobPriority.HIGH)
    board.claim(jobs[0], "other", expiry=5)
    got = board.claim_next("me", 3, expiry=5)
    assert [job.name for job, _ in got] == ["urgent", "j1", "j2"]
    assert all(board.verify(claim) and claim.owner == "me" for _, claim in got)
    assert len({claim.token for _, claim in got}) == 3
    assert [job.name for job, _ in board.claim_next("me", 10, expiry=5)] == ["j3", "j4"]
    assert board.claim_next("me", 10, expiry=5) == []
    assert board.find_owner(urgent) == "me"


def test_claim_next_hands_back_lapsed_and_abandoned_claims_in_board_order(board: JobBoard) -> None:
    jobs = [board.post(f"j{i}") for i in range(5)]
    (forever, _), *_ = board.claim_next("me", 1, expiry=None)
    got = {job.name: claim for job, claim in board.claim_next("me", 10, expiry=0.3)}
    assert sorted(got) == ["j1", "j2", "j3", "j4"] and forever.name == "j0"
    assert board.extend_many([got["j2"]], 5) == [True]
    board.abandon(jobs[3], "me", claim=got["j3"])
    assert [job.name for job, _ in board.claim_next("other", 10, expiry=5)] == ["j3"]
    time.sleep(0.5)  # j1 and j4 lapsed; j2 was extended; j0 never expires
    again = board.claim_next("other", 10, expiry=5)
    assert [job.name for job, _ in again] == ["j1", "j4"]
    assert all(claim.token > got["j4"].token for _, claim in again)
    assert board.find_owner(jobs[0]) == "me" and board.find_owner(jobs[2]) == "me"
    assert board.claim_next("other", 10, expiry=5) == []


def test_redis_claims_take_from_an_index_of_unclaimed_jobs(redis_board_url: str) -> None:
    """claim_next reads only unclaimed jobs (not every live one); a namespace written without the
    index is indexed on connect, and jobs claimed meanwhile stay with their holder."""
    import redis

    with jobboard("b", redis_board_url) as board:
        jobs = [board.post(f"j{i}") for i in range(6)]
        held = board.claim(jobs[1], "alpha", expiry=5)
        board.claim_next("alpha", 2, expiry=5)  # j0, j2
        ns = board.namespace  # type: ignore[attr-defined]
        client = redis.Redis.from_url(redis_board_url.partition("?")[0], decode_responses=True)
        try:
            ready = client.zrange(f"{ns}:ready", 0, -1)
            assert ready == [jobs[i].uuid for i in (3, 4, 5)]
            assert client.zcard(f"{ns}:leased") == 3
            client.delete(f"{ns}:ready", f"{ns}:leased", f"{ns}:indexed")  # as an older board left it
        finally:
            client.close()
        board.close()
        board.connect()
        assert [job.name for job, _ in board.claim_next("beta", 10, expiry=5)] == ["j3", "j4", "j5"]
        assert board.claim_next("beta", 10, expiry=5) == []
        assert board.verify(held) and board.find_owner(jobs[0]) == "alpha"


def test_sql_board_url_kinds_and_unreachable_database(tmp_path: Any) -> None:
    from greenflow.jobs._sql import SqlJobBoard

    assert isinstance(fetch_jobboard("b", f"sqlite:///{tmp_path}/j.db"), SqlJobBoard)
    assert isinstance(
        fetch_jobboard("b", {"board": "sql", "connection": f"sqlite:///{tmp_path}/j.db"}), SqlJobBoard
    )
    board = fetch_jobboard("b", "postgresql://u:pw@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(JobError, match="jobboard 'b' could not reach its database") as info:
        board.connect()
    assert "pw" not in str(info.value)


def test_an_abandon_with_retry_after_keeps_the_job_from_everyone_until_then(board: JobBoard) -> None:
    job = board.post("j")
    board.claim(job, "alpha")
    assert board.abandon(job, "alpha", reason="database down", retry_after=0.4) == 1
    assert job.state == UNCLAIMED and board.find_owner(job) is None
    assert board.claim_next("beta", 5, expiry=5) == []
    with pytest.raises(UnclaimableJobError):
        board.claim(job, "beta")
    time.sleep(0.5)
    ((again, claim),) = board.claim_next("beta", 5, expiry=5)
    assert again.uuid == job.uuid and board.verify(claim)


def test_redis_board_through_a_sentinel(tmp_path: Any) -> None:
    """Octavia's sentinel configuration: the board asks a (private) sentinel for the master."""
    import shutil
    import socket
    import subprocess

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    master, sentinel = free_port(), free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sentinel}\nbind 127.0.0.1\nsentinel monitor gfmaster 127.0.0.1 {master} 1\n")
    procs = [
        subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(master),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        ),
        subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL),
    ]
    try:
        board_conf = {
            "board": "redis",
            "host": "127.0.0.1",
            "port": sentinel,
            "sentinel": "gfmaster",
            "sentinel_fallbacks": [f"127.0.0.1:{free_port()}"],  # a dead fallback is skipped
            "namespace": "sentinel-test",
            "socket_timeout": 2,
        }
        deadline = time.monotonic() + 10
        while True:
            try:
                with jobboard("s", board_conf) as board:
                    job = board.post("j")
                    claim = board.claim(job, "me", expiry=5)
                    assert board.verify(claim) and board.job_count == 1
                    board.consume(job, "me", claim=claim)
                    assert board.job_count == 0
                break
            except JobError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # the sentinel is still starting
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)


def test_zookeeper_url_and_dict_configurations(zookeeper_hosts: str) -> None:
    from greenflow.jobs._zookeeper import ZooKeeperJobBoard, zookeeper_conf_from_url

    assert zookeeper_conf_from_url("zookeeper://u:s3cret@h1:2181,h2:2182/taskflow/jobs?timeout=3") == {
        "auth": "u:s3cret",
        "hosts": "h1:2181,h2:2182",
        "path": "/taskflow/jobs",
        "timeout": "3",
    }
    # TaskFlow's and Octavia's dict: hosts (a string or a list), path, timeout.
    path = f"/greenflow-test/{uuid.uuid4().hex[:12]}"
    conf = {"board": "zookeeper", "hosts": [zookeeper_hosts], "path": path, "timeout": 5}
    with jobboard("zk", conf) as board:
        assert isinstance(board, ZooKeeperJobBoard) and board.path == path
        job = board.post("j")
        with jobboard("zk", f"zookeeper://{zookeeper_hosts}{path}") as other:
            assert [j.uuid for j in other.iterjobs()] == [job.uuid]
            claim = other.claim(job, "other")  # no expiry: held while its session lives
        # The claimant's session ended: its ephemeral claim went with it.
        assert board.find_owner(job) is None and not board.verify(claim)
        board.destroy()
    with pytest.raises(InvalidOptionError, match="unknown ZooKeeper jobboard option"):
        fetch_jobboard("b", {"board": "zookeeper", "hots": "x"})
    with pytest.raises(InvalidOptionError, match="path is absolute"):
        fetch_jobboard("b", {"board": "zookeeper", "path": "jobs"})


@pytest.mark.parametrize("kind", ["zookeeper", "etcd"])
def test_finish_and_extend_survive_the_holders_own_heartbeat_in_between(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """A heartbeat extending the claim between a finish's read and its commit is not a lost claim.

    (The ZooKeeper and etcd boards compare the owner record's version, which an extension
    changes; the Redis and SQL boards check the token alone.)
    """
    url = request.getfixturevalue(f"{kind}_board_url")
    board_class = type(fetch_jobboard("probe", url))

    class HeartbeatAfterEachRead(board_class):  # type: ignore[misc, valid-type]
        """Extends the claim, as a heartbeat thread would, right after each claim check reads it."""

        heart: JobBoard
        beats = 0

        def _held(self, claim: Any) -> Any:
            held = super()._held(claim)
            if held is not None and self.beats < 2:
                self.beats += 1
                assert self.heart.extend_many([claim], 30) == [True]
            return held

    with jobboard("heart", url) as heart:
        board = HeartbeatAfterEachRead("racy", {"url": url})
        board.heart = heart
        with board:
            job = board.post("j")
            claim = board.claim(job, "me", expiry=30)
            assert board.extend_expiry(job, 30)  # its first commit lost the race, the retry won
            board.beats = 0
            board.consume(job, "me", claim=claim)
            assert board.job_count == 0
            other = board.post("k")
            lapsed = board.claim(other, "me", expiry=0.5)
            time.sleep(0.7)
            heart.claim(other, "someone-else", expiry=30)
            # The retry reads the board again: a claim that really moved is still refused.
            with pytest.raises(ClaimLostError):
                board.consume(other, "me", claim=lapsed)
            board.destroy()


def test_zookeeper_boards_sharing_one_client_start_it_once(zookeeper_hosts: str) -> None:
    """Boards given one ``client=`` connect from many threads at once; closing them leaves it running."""
    import threading

    from kazoo.client import KazooClient

    client = KazooClient(hosts=zookeeper_hosts, timeout=5)
    path = f"/greenflow-test/{uuid.uuid4().hex[:12]}"
    boards = [fetch_jobboard(f"b{i}", {"board": "zookeeper", "path": path}, client=client) for i in range(8)]
    errors: list[BaseException] = []

    def connect(board: JobBoard) -> None:
        try:
            board.connect()
            board.post(f"from-{board.name}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=connect, args=(b,)) for b in boards]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors and not any(t.is_alive() for t in threads)
        assert boards[0].job_count == 8
        for board in boards[1:]:
            board.close()
        assert client.connected  # not the boards' to stop
        boards[0].destroy()
        boards[0].close()
    finally:
        client.stop()
        client.close()


def test_unreachable_zookeeper_is_a_clear_job_error() -> None:
    pytest.importorskip("kazoo", reason="kazoo is not installed (pip install greenflow[zookeeper])")
    board = fetch_jobboard("b", "zookeeper://u:pw@127.0.0.1:1/jobs?timeout=0.5")
    with pytest.raises(JobError, match=r"jobboard 'b' could not connect to ZooKeeper at 127.0.0.1:1") as info:
        board.connect()
    assert "pw" not in str(info.value)
    board.close()


def test_etcd_url_and_dict_configurations(etcd_address: str) -> None:
    from greenflow.jobs._etcd import EtcdJobBoard, etcd_conf_from_url

    assert etcd_conf_from_url("etcds://etcd.example:2379/octavia/jobs?timeout=3") == {
        "host": "etcd.example",
        "port": 2379,
        "protocol": "https",
        "path": "/octavia/jobs",
        "timeout": "3",
    }
    host, _, port = etcd_address.rpartition(":")
    path = f"/greenflow-test/{uuid.uuid4().hex[:12]}"
    with jobboard("e", {"board": "etcd", "host": host, "port": int(port), "path": path}) as board:
        assert isinstance(board, EtcdJobBoard) and board.path == path
        job = board.post("j")
        with jobboard("e", f"etcd://{etcd_address}{path}") as other:
            assert [j.uuid for j in other.iterjobs()] == [job.uuid]
        board.destroy()
        assert board.job_count == 0
    with pytest.raises(InvalidOptionError, match="unknown etcd jobboard option"):
        fetch_jobboard("b", {"board": "etcd", "hots": "x"})


def test_unreachable_etcd_is_a_clear_job_error() -> None:
    pytest.importorskip("etcd3gw", reason="etcd3gw is not installed (pip install greenflow[etcd])")
    board = fetch_jobboard("b", "etcd://127.0.0.1:1/jobs?timeout=0.5")
    with pytest.raises(JobError, match=r"jobboard 'b' could not connect to etcd at 127.0.0.1:1"):
        board.connect()
    board.close()

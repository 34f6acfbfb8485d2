"""Conductors on the real Redis jobboard (ZooKeeper and etcd too for the kill test): what happens to
each job, in-process and across processes.

In-process (threading hub): blocking and nonblocking conductors consume
finished jobs, consume a job whose flow reverted, trash a job they cannot
dispatch (with the reason) and keep running, trash a job that failed on
every attempt instead of cycling it forever, and emit TaskFlow's events.
Across processes (``greenflow conductor`` children on PostgreSQL): one of
two conductors SIGKILLed mid-run; a conductor frozen (SIGSTOP) past its
claim expiry and resumed records nothing for the jobs it lost; SIGTERM
exits 0 and abandons running jobs for another conductor. The green
conductor runs in a gevent-patched child.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import job_flows

from greenflow import states
from greenflow.conductors import BlockingConductor, Conductor, NonBlockingConductor, fetch_conductor
from greenflow.exceptions import InvalidOptionError, StorageError
from greenflow.jobs import JobBoard, fetch_jobboard
from greenflow.persistence import fetch_backend

pytestmark = pytest.mark.timeout(120)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Any]:
    b = fetch_backend(f"sqlite:///{tmp_path}/jobs.db")
    b.get_connection().upgrade()
    yield b
    b.close()


@pytest.fixture
def board(redis_board_url: str, backend: Any) -> Iterator[JobBoard]:
    b = fetch_jobboard("conductor-test", redis_board_url, persistence=backend)
    b.connect()
    yield b
    b.close()


def _run_until_empty(conductor: Conductor, board: JobBoard, timeout: float = 30.0) -> None:
    runner = threading.Thread(target=conductor.run, daemon=True)
    runner.start()
    deadline = time.monotonic() + timeout
    while board.job_count and time.monotonic() < deadline:
        time.sleep(0.02)
    conductor.stop()
    assert conductor.wait(timeout), "the conductor did not stop"
    assert board.job_count == 0, f"{board.job_count} jobs left on the board"


def _flow_states(backend: Any) -> dict[str, str]:
    return {fd.name: fd.state for book in backend.get_connection().get_logbooks() for fd in book}


@pytest.mark.parametrize("kind", ["blocking", "nonblocking"])
def test_conductor_consumes_every_job_once(kind: str, board: JobBoard, backend: Any) -> None:
    for i in range(6):
        board.post_flow(f"job{i}", job_flows.linear, (3, 0.01), store={"job_key": f"k{i}"})
    options = {"max_simultaneous_jobs": 3} if kind == "nonblocking" else {}
    conductor = fetch_conductor(kind, "c1", board, persistence=backend, claim_expiry=5, **options)
    events: list[str] = []
    consumed: list[dict[str, Any]] = []
    conductor.notifier.register("job_consumed", lambda _e, details: consumed.append(dict(details)))
    conductor.notifier.register(conductor.notifier.ANY, lambda event, details: events.append(event))
    _run_until_empty(conductor, board)
    assert _flow_states(backend) == {f"job{i}": states.SUCCESS for i in range(6)}
    assert conductor.counts["consumed"] == 6 and conductor.counts["claimed"] == 6
    assert {d["job"].name for d in consumed} == {f"job{i}" for i in range(6)}
    assert all(d["conductor"] is conductor and d["persistence"] is backend for d in consumed)
    assert set(events) <= set(Conductor.EVENTS_EMITTED)
    assert events.count("running_end") == 6 and events.count("compilation_start") == 6
    if kind == "nonblocking":
        assert conductor.counts["peak"] > 1


def test_undispatchable_jobs_are_trashed_with_the_reason_and_the_conductor_goes_on(
    board: JobBoard, backend: Any
) -> None:
    board.post("no-book")
    board.post_flow("bad-store", job_flows.linear, (1, 0.0), store={"job_key": "k"})
    # Break the factory name recorded for one job: the flow cannot be rebuilt.
    job = board.post_flow("no-factory", job_flows.linear, (1, 0.0), store={"job_key": "k"})
    conn = backend.get_connection()
    fd = conn.get_flow_details(job.details["flow_uuid"])
    fd.meta["factory"]["name"] = "support.job_flows.missing"
    conn.update_flow_details(fd)
    board.post_flow("good", job_flows.linear, (1, 0.0), store={"job_key": "k"})
    conductor = BlockingConductor("c1", board, persistence=backend, claim_expiry=5)
    _run_until_empty(conductor, board)
    reasons = {t["name"]: t["reason"] for t in board.trashed()}
    assert set(reasons) == {"no-book", "no-factory"}
    assert "names no logbook" in reasons["no-book"]
    assert "support.job_flows.missing" in reasons["no-factory"]
    assert _flow_states(backend)["good"] == states.SUCCESS
    assert conductor.counts["trashed"] == 2 and conductor.counts["consumed"] == 2


def test_a_flow_that_reverts_is_consumed(board: JobBoard, backend: Any) -> None:
    board.post_flow("fails", job_flows.failing, store={"job_key": "k"})
    conductor = BlockingConductor("c1", board, persistence=backend, claim_expiry=5)
    _run_until_empty(conductor, board)
    assert _flow_states(backend) == {"fails": states.REVERTED}
    assert conductor.counts["consumed"] == 1


class _BrokenStorageConductor(BlockingConductor):
    """A conductor whose engines all fail with a storage error (as when the database is down)."""

    RETRY_BACKOFF = 0.05

    def _listeners_from_job(self, job: Any, engine: Any) -> list[Any]:
        def broken(*_args: Any, **_kwargs: Any) -> None:
            raise StorageError("database went away")

        engine.storage.save_flow = broken
        return []


def test_a_job_failing_everywhere_is_trashed_after_max_abandons(board: JobBoard, backend: Any) -> None:
    board.post_flow("doomed", job_flows.linear, (1, 0.0), store={"job_key": "k"})
    conductor = _BrokenStorageConductor("c1", board, persistence=backend, claim_expiry=5, max_abandons=3)
    _run_until_empty(conductor, board)
    assert conductor.counts["abandoned"] == 2 and conductor.counts["trashed"] == 1
    # Each failed attempt backed off before the next: 0.05 s, then 0.1 s.
    (trashed,) = board.trashed()
    assert "failed 3 times" in trashed["reason"] and "database went away" in trashed["reason"]


def test_stop_suspends_running_jobs_and_abandons_them(board: JobBoard, backend: Any) -> None:
    job = board.post_flow("slow", job_flows.linear, (3, 0.5), store={"job_key": "k"})
    conductor = NonBlockingConductor("c1", board, persistence=backend, claim_expiry=5)
    runner = threading.Thread(target=conductor.run, daemon=True)
    runner.start()
    deadline = time.monotonic() + 10
    while conductor.counts["claimed"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    conductor.stop()
    assert conductor.wait(10)
    assert conductor.counts["abandoned"] == 1
    assert board.job_count == 1 and board.find_owner(job) is None and board.abandons(job) == 0
    assert _flow_states(backend) == {"slow": states.SUSPENDED}
    # Another conductor resumes it: the finished first step does not run again.
    again = BlockingConductor("c2", board, persistence=backend, claim_expiry=5)
    _run_until_empty(again, board)
    assert _flow_states(backend) == {"slow": states.SUCCESS}


def test_stop_before_a_job_starts_running_gives_it_back_unrun(board: JobBoard, backend: Any) -> None:
    """stop() between the job's stages (here: at 'running_start') abandons it before any atom runs."""
    job = board.post_flow("early", job_flows.linear, (2, 0.0), store={"job_key": "k"})
    conductor = BlockingConductor("c1", board, persistence=backend, claim_expiry=5)
    conductor.notifier.register("running_start", lambda event, details: conductor.stop())
    events: list[str] = []
    conductor.notifier.register(conductor.notifier.ANY, lambda event, details: events.append(event))
    runner = threading.Thread(target=conductor.run, daemon=True)
    runner.start()
    assert conductor.wait(10)
    assert conductor.counts["abandoned"] == 1 and "job_abandoned" in events
    assert "running_end" not in events and "job_consumed" not in events
    assert board.job_count == 1 and board.find_owner(job) is None
    assert _flow_states(backend) != {"early": states.SUCCESS}


def test_stop_just_before_the_engine_runs_still_suspends_it(board: JobBoard, backend: Any) -> None:
    """stop() after the conductor's last check but before the engine's run began abandons the job unrun."""
    job = board.post_flow("late", job_flows.linear, (2, 0.0), store={"job_key": "k"})

    class StopsAsTheRunStarts(BlockingConductor):
        def _load_engine(self, flow_detail: Any, store: Any, backend: Any) -> Any:
            engine = super()._load_engine(flow_detail, store, backend)
            run = engine.run

            def stop_then_run() -> None:
                self.stop()  # the engine is not running yet: its suspend() alone would be a no-op
                run()

            engine.run = stop_then_run
            return engine

    conductor = StopsAsTheRunStarts("c1", board, persistence=backend, claim_expiry=5)
    runner = threading.Thread(target=conductor.run, daemon=True)
    runner.start()
    assert conductor.wait(10)
    assert conductor.counts["abandoned"] == 1 and conductor.counts["consumed"] == 0
    assert board.job_count == 1 and board.find_owner(job) is None
    assert _flow_states(backend) == {"late": states.SUSPENDED}


def test_conductor_options_are_checked(board: JobBoard) -> None:
    with pytest.raises(InvalidOptionError, match="unknown conductor kind 'speedy'"):
        fetch_conductor("speedy", "c", board)
    with pytest.raises(InvalidOptionError, match="claim_expiry must be a positive"):
        BlockingConductor("c", board, claim_expiry=0)
    with pytest.raises(InvalidOptionError, match="max_simultaneous_jobs must be an integer"):
        NonBlockingConductor("c", board, max_simultaneous_jobs="8")


# -- across processes -----------------------------------------------------------------------


class _Child:
    """A ``greenflow conductor`` process whose log goes to a file."""

    def __init__(self, name: str, board_url: str, backend_url: str, tmp: Path, journal: Path, *extra: str):
        self.name = name
        self.log_path = tmp / f"{name}.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "tests"), str(REPO_ROOT)])
        env["GREENFLOW_TEST_JOURNAL"] = str(journal)
        env.pop("GREENFLOW_HUB", None)
        args = ["--jobboard", board_url, "--backend", backend_url, "--name", name, *extra]
        args += ["--allow-factory", "support.job_flows"]
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "greenflow.cli", "conductor", *args], env=env, stderr=self.log
        )

    @property
    def text(self) -> str:
        return self.log_path.read_text()

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()


def _journal(path: Path) -> list[tuple[str, str, str, int]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        what, job, atom, pid = line.split()
        out.append((what, job, atom, int(pid)))
    return out


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def pg_backend(postgres_url: str) -> Iterator[tuple[str, Any]]:
    b = fetch_backend(postgres_url)
    conn = b.get_connection()
    conn.upgrade()
    conn.clear_all()
    yield postgres_url, b
    b.close()


@pytest.mark.parametrize("board_kind", ["redis", "zookeeper", "etcd"])
def test_two_conductors_one_killed_every_job_succeeds_once(
    board_kind: str, pg_backend: tuple[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # The killed one runs on gevent: on ZooKeeper through kazoo's gevent handler,
    # on etcd over gevent-patched sockets.
    redis_board_url = request.getfixturevalue(f"{board_kind}_board_url")
    url, backend = pg_backend
    board = fetch_jobboard("crash", redis_board_url, persistence=backend)
    board.connect()
    journal = tmp_path / "journal"
    names = [f"job{i:02d}" for i in range(16)]
    for name in names:
        board.post_flow(name, job_flows.linear, (3, 0.2), store={"job_key": name})
    expiry = ("--claim-expiry", "1.5", "--max-jobs", "4")
    doomed = _Child("doomed", redis_board_url, url, tmp_path, journal, "--hub", "gevent", *expiry)
    _wait(lambda: any(pid == doomed.proc.pid for _, _, _, pid in _journal(journal)), 30, "the first atom")
    survivor = _Child("survivor", redis_board_url, url, tmp_path, journal, *expiry)
    time.sleep(0.5)
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.kill()
    try:
        _wait(lambda: board.job_count == 0, 60, "the board to empty")
    finally:
        survivor.proc.send_signal(signal.SIGTERM)
        assert survivor.wait() == 0, survivor.text
    assert _flow_states(backend) == dict.fromkeys(names, states.SUCCESS)
    assert board.trashed() == []
    entries = _journal(journal)
    starts = collections.defaultdict(list)
    for what, job, atom, pid in entries:
        if what == "start":
            starts[(job, atom)].append(pid)
    assert set(starts) == {(n, f"step{i}") for n in names for i in range(3)}
    for key, pids in starts.items():
        # Only what the killed conductor had in flight runs twice; the survivor runs nothing twice.
        assert pids.count(survivor.proc.pid) <= 1, (key, pids)
        assert len(pids) == 1 or pids[:-1] == [doomed.proc.pid] * (len(pids) - 1), (key, pids)
    twice = [key for key, pids in starts.items() if len(pids) > 1]
    assert len(twice) <= 4  # at most one in-flight atom per job the killed conductor held
    consumed = [line for line in survivor.text.splitlines() if "consumed job" in line]
    doomed_consumed = [line for line in doomed.text.splitlines() if "consumed job" in line]
    for name in names:
        assert sum(f"job {name!r}" in line for line in consumed + doomed_consumed) == 1, name
    board.close()


def test_a_frozen_conductor_past_its_expiry_records_nothing_for_lost_jobs(
    redis_board_url: str, pg_backend: tuple[str, Any], tmp_path: Path
) -> None:
    url, backend = pg_backend
    board = fetch_jobboard("freeze", redis_board_url, persistence=backend)
    board.connect()
    journal = tmp_path / "journal"
    names = ["slow0", "slow1"]
    for name in names:
        board.post_flow(name, job_flows.linear, (3, 0.8), store={"job_key": name})
    opts = ("--claim-expiry", "1", "--max-jobs", "2")
    frozen = _Child("frozen", redis_board_url, url, tmp_path, journal, *opts)
    _wait(lambda: sum(e[0] == "start" for e in _journal(journal)) >= 2, 30, "both jobs to start")
    frozen.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(1.5)  # past the claim expiry: the claims lapse
        other = _Child("other", redis_board_url, url, tmp_path, journal, *opts)
        _wait(lambda: board.job_count == 0, 60, "the other conductor to finish the jobs")
        other.proc.send_signal(signal.SIGTERM)
        assert other.wait() == 0, other.text
        recorded = {
            fd.name: [(ad.name, ad.state, ad.results) for ad in fd]
            for book in backend.get_connection().get_logbooks()
            for fd in book
        }
        resumed_at = len(_journal(journal))
    finally:
        frozen.proc.send_signal(signal.SIGCONT)
    _wait(lambda: frozen.text.count("lost its claim") >= 2, 30, "the frozen conductor to see its losses")
    frozen.proc.send_signal(signal.SIGTERM)
    assert frozen.wait() == 0, frozen.text
    after = {
        fd.name: [(ad.name, ad.state, ad.results) for ad in fd]
        for book in backend.get_connection().get_logbooks()
        for fd in book
    }
    assert after == recorded  # nothing recorded by the conductor that lost its claims
    assert _flow_states(backend) == dict.fromkeys(names, states.SUCCESS)
    # The frozen conductor started no further atom once it resumed.
    assert not [e for e in _journal(journal)[resumed_at:] if e[0] == "start"]
    assert "consumed job" not in frozen.text
    board.close()


class _PrivateRedis:
    """A redis-server of this test's own on a free port (append-only, fsync always), to kill and restart."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        import socket

        self.extra = extra
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = tmp / "redis"
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
        password = self.extra[1] if self.extra[:1] == ("--requirepass",) else None
        client = redis.Redis(port=self.port, password=password)
        _wait(lambda: _pings(client), 10, "the private redis-server to start")
        client.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def test_redis_restarted_under_a_running_conductor(pg_backend: tuple[str, Any], tmp_path: Path) -> None:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    url, backend = pg_backend
    server = _PrivateRedis(tmp_path)
    server.start()
    try:
        board_url = f"redis://127.0.0.1:{server.port}/0?namespace=restart&socket_timeout=2"
        board = fetch_jobboard("restart", board_url, persistence=backend)
        board.connect()
        names = [f"job{i}" for i in range(6)]
        for name in names:
            board.post_flow(name, job_flows.linear, (3, 0.3), store={"job_key": name})
        journal = tmp_path / "journal"
        child = _Child("steady", board_url, url, tmp_path, journal, "--claim-expiry", "4", "--max-jobs", "3")
        _wait(lambda: len(_journal(journal)) >= 2, 30, "the first atoms")
        server.kill()  # a crash: what the append-only file holds is what survives
        time.sleep(1.0)
        server.start()
        _wait(lambda: board.job_count == 0, 60, "the board to empty after the restart")
        child.proc.send_signal(signal.SIGTERM)
        assert child.wait() == 0, child.text
        # The outage cost no job a second claim: finishing waited for the server within the claim.
        assert "claimed 6, consumed 6, abandoned 0, trashed 0, lost 0" in child.text, child.text
        assert _flow_states(backend) == dict.fromkeys(names, states.SUCCESS)
        starts = collections.Counter(
            (job, atom) for what, job, atom, _ in _journal(journal) if what == "start"
        )
        assert set(starts) == {(n, f"step{i}") for n in names for i in range(3)}
        assert max(starts.values()) == 1, starts
        board.close()
    finally:
        server.kill()


def test_cli_conductor_masks_secrets_logs_each_job_event_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = _PrivateRedis(tmp_path, "--requirepass", "s3cretpw")
    server.start()
    backend_url = f"sqlite:///{tmp_path}/cli.db"
    backend = fetch_backend(backend_url)
    backend.get_connection().upgrade()
    try:
        board_url = f"redis://:s3cretpw@127.0.0.1:{server.port}/0?namespace=cli"
        board = fetch_jobboard("cli", board_url, persistence=backend)
        board.connect()
        job = board.post_flow("one", job_flows.linear, (2, 0.0), store={"job_key": "one"})
        slow = board.post_flow("slow", job_flows.linear, (3, 1.0), store={"job_key": "slow"})
        journal = tmp_path / "journal"
        child = _Child("cli", board_url, backend_url, tmp_path, journal, "--claim-expiry", "5")
        _wait(lambda: job.state == "COMPLETE", 30, "the first job")
        _wait(lambda: any(e[1] == "slow" for e in _journal(journal)), 30, "the slow job to start")
        child.proc.send_signal(signal.SIGTERM)
        assert child.wait() == 0, child.text
        text = child.text
        assert "s3cretpw" not in text
        assert f"redis://:***@127.0.0.1:{server.port}/0?namespace=cli" in text
        assert sum(f"claimed job 'one' ({job.uuid})" in line for line in text.splitlines()) == 1
        assert sum(f"consumed job 'one' ({job.uuid})" in line for line in text.splitlines()) == 1
        assert f"abandoned job 'slow' ({slow.uuid}): suspended" in text
        assert "SIGTERM received, stopping" in text
        # The stopped job waits on the board for another conductor, its finished steps kept.
        assert board.job_count == 1 and board.find_owner(slow) is None
        assert _flow_states(backend)["slow"] == states.SUSPENDED
        board.close()
    finally:
        server.kill()
        backend.close()


@pytest.mark.parametrize("database", ["postgresql", "mariadb"])
def test_conductors_share_a_sql_jobboard(database: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_url" if database == "postgresql" else "mysql_url")
    persistence = fetch_backend(url)
    persistence.get_connection().upgrade()
    name = f"sql-board-{uuid.uuid4().hex[:8]}"
    boards = [fetch_jobboard(name, url, persistence=persistence) for _ in range(2)]
    for b in boards:
        b.connect()
    try:
        jobs = [
            boards[0].post_flow(f"{name}-{i}", job_flows.linear, (2, 0.01), store={"job_key": str(i)})
            for i in range(8)
        ]
        conductors = [
            NonBlockingConductor(f"c{i}", b, persistence=persistence, claim_expiry=5, max_simultaneous_jobs=3)
            for i, b in enumerate(boards)
        ]
        runners = [threading.Thread(target=c.run, daemon=True) for c in conductors]
        for r in runners:
            r.start()
        _wait(lambda: boards[0].job_count == 0, 60, "the SQL board to empty")
        for c in conductors:
            c.stop()
            assert c.wait(10)
        assert sum(c.counts["consumed"] for c in conductors) == 8
        conn = persistence.get_connection()
        assert all(conn.get_flow_details(j.details["flow_uuid"]).state == states.SUCCESS for j in jobs)
    finally:
        for b in boards:
            b.close()
        persistence.close()


def test_database_link_cut_mid_job_abandons_then_resumes_every_job(
    redis_board_url: str, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The persistence database goes away under running jobs: a save fails, the job is abandoned
    (a failed attempt), and once the link is back it is claimed again and resumed from what was
    recorded: every flow ends SUCCESS, none is trashed, no atom recorded SUCCESS runs again."""
    from urllib.parse import urlsplit, urlunsplit

    from support.tcp_proxy import TcpProxy

    journal = tmp_path / "journal"
    monkeypatch.setenv("GREENFLOW_TEST_JOURNAL", str(journal))
    parts = urlsplit(postgres_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        user = parts.netloc.rsplit("@", 1)
        netloc = f"{user[0]}@127.0.0.1:{proxy.port}" if len(user) == 2 else f"127.0.0.1:{proxy.port}"
        url = urlunsplit(parts._replace(netloc=netloc))
        persistence = fetch_backend({"connection": url, "pool_pre_ping": True})
        persistence.get_connection().upgrade()
        board = fetch_jobboard(f"cut-{uuid.uuid4().hex[:8]}", redis_board_url, persistence=persistence)
        board.connect()
        names = [f"cut{i}" for i in range(4)]
        jobs = [board.post_flow(n, job_flows.linear, (3, 0.3), store={"job_key": n}) for n in names]
        conductor = NonBlockingConductor(
            "c1", board, persistence=persistence, claim_expiry=5, max_simultaneous_jobs=4, max_abandons=20
        )
        runner = threading.Thread(target=conductor.run, daemon=True)
        runner.start()
        try:
            _wait(lambda: len(_journal(journal)) >= 4, 30, "the first atoms")
            proxy.cut()
            time.sleep(1.0)
            proxy.restore()
            _wait(lambda: board.job_count == 0, 60, "every job to finish after the link came back")
        finally:
            conductor.stop()
            assert conductor.wait(20)
        assert conductor.counts["abandoned"] >= 1 and conductor.counts["trashed"] == 0
        assert conductor.counts["consumed"] == 4
        conn = persistence.get_connection()
        assert {conn.get_flow_details(j.details["flow_uuid"]).state for j in jobs} == {states.SUCCESS}
        board.close()
        persistence.close()
    starts = collections.Counter((job, atom) for what, job, atom, _ in _journal(journal) if what == "start")
    assert set(starts) == {(n, f"step{i}") for n in names for i in range(3)}
    # Only the atoms in flight when the link went (at most one per job) ran again.
    assert sum(count - 1 for count in starts.values()) <= len(names)


class _ThresholdConductor(BlockingConductor):
    GC_THRESHOLD = 100_001  # a kind's default, as GreenConductor's


@pytest.mark.parametrize(
    ("cls", "options", "expected"),
    [
        (_ThresholdConductor, {}, 100_001),
        (_ThresholdConductor, {"gc_threshold": 0}, None),  # 0: the interpreter's thresholds as they are
        (BlockingConductor, {}, None),
        (BlockingConductor, {"gc_threshold": 123_457}, 123_457),
    ],
)
def test_gc_threshold_applies_while_the_conductor_runs_only(
    cls: type[Conductor], options: dict[str, Any], expected: int | None, board: JobBoard, backend: Any
) -> None:
    import gc

    from greenflow.conductors import GreenConductor

    assert GreenConductor.GC_THRESHOLD == 100_000  # thousands of live jobs on one thread
    before = gc.get_threshold()
    board.post_flow("job", job_flows.linear, (1, 0.0), store={"job_key": "k"})
    conductor = cls("c1", board, persistence=backend, claim_expiry=5, **options)
    seen: list[int] = []
    conductor.notifier.register("running_start", lambda _event, details: seen.append(gc.get_threshold()[0]))
    _run_until_empty(conductor, board)
    assert seen == [before[0] if expected is None else expected]
    assert gc.get_threshold() == before


def test_gc_threshold_must_be_a_non_negative_integer(board: JobBoard) -> None:
    for bad in (-1, 1.5, True, "100"):
        with pytest.raises(InvalidOptionError, match="gc_threshold must be an integer"):
            BlockingConductor("c1", board, gc_threshold=bad)

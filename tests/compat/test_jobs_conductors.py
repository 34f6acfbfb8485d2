"""Octavia's way of using TaskFlow's jobboards and conductors, through compat/ on the real Redis.

The controller posts a job as Octavia's ``run_flow`` does (a logbook with one
flow detail recording the factory, ``details={'store': ...}``), a subclass of
TaskFlow's ``BlockingConductor`` (Octavia's ``RedisDynamicLoggingConductor``:
extra listeners from ``_listeners_from_job``, an ``_on_job_done`` that drops
the logbook of a completed job) runs it, and the poster waits on ``job.wait()``.
"""

from __future__ import annotations

import importlib.util
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import coordination_servers

from greenflow.exceptions import InvalidOptionError

pytestmark = pytest.mark.timeout(60)

zookeeper_hosts = coordination_servers.zookeeper_hosts  # the session fixtures, for this module
etcd_address = coordination_servers.etcd_address


@pytest.fixture
def redis_conf() -> Iterator[dict[str, Any]]:
    if importlib.util.find_spec("redis") is None:
        pytest.skip("the redis client is not installed (pip install greenflow[redis])")
    import redis

    try:
        redis.Redis(socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at 127.0.0.1:6379 is unreachable: {exc}")
    namespace = f"greenflow-compat-{uuid.uuid4().hex[:12]}"
    yield {"board": "redis", "host": "127.0.0.1", "port": 6379, "db": 0, "namespace": namespace}
    client = redis.Redis()
    keys = list(client.scan_iter(match=f"{namespace}:*"))
    if keys:
        client.delete(*keys)


def make_flow(greeting: str) -> Any:
    """The flow factory the job records (imported by name by the conductor)."""
    from taskflow import task
    from taskflow.patterns import linear_flow

    class Greet(task.Task):
        def execute(self, name: str) -> str:
            return f"{greeting}, {name}"

    class Shout(task.Task):
        def execute(self, greeting: str) -> str:
            return greeting.upper()

    return linear_flow.Flow("greet").add(Greet("greet", provides="greeting"), Shout("shout", provides="loud"))


def test_octavia_style_post_and_blocking_conductor(redis_conf: dict[str, Any], tmp_path: Path) -> None:
    from taskflow import engines, states
    from taskflow.conductors.backends import impl_blocking
    from taskflow.jobs import backends as job_backends
    from taskflow.listeners import base as listener_base
    from taskflow.listeners import logging as logging_listener
    from taskflow.persistence import backends as persistence_backends
    from taskflow.persistence import models

    extended: list[float | None] = []
    cleaned: list[str] = []

    class ExtendExpiryListener(listener_base.Listener):
        def __init__(self, engine: Any, job: Any) -> None:
            super().__init__(engine)
            self.job = job

        def _task_receiver(self, state: str, details: Any) -> None:
            self.job.extend_expiry(30)
            extended.append(self.job.expires_in())

    class RedisDynamicLoggingConductor(impl_blocking.BlockingConductor):
        def _listeners_from_job(self, job: Any, engine: Any) -> list[Any]:
            listeners = super()._listeners_from_job(job, engine)
            listeners.append(logging_listener.DynamicLoggingListener(engine))
            listeners.append(ExtendExpiryListener(engine, job))
            return listeners

        def _on_job_done(self, job: Any, fut: Any) -> None:
            super()._on_job_done(job, fut)
            if job.state == states.COMPLETE:
                cleaned.append(job.book.uuid)

    with (
        persistence_backends.backend({"connection": f"sqlite:///{tmp_path}/octavia.db"}) as persistence,
        job_backends.backend("octavia", redis_conf, persistence=persistence) as board,
    ):
        job_name = f"greet-{uuid.uuid4()}"
        book = models.LogBook(job_name)
        flow_detail = models.FlowDetail(job_name, str(uuid.uuid4()))
        book.add(flow_detail)
        persistence.get_connection().save_logbook(book)
        engines.save_factory_details(flow_detail, make_flow, ["hello"], {}, backend=persistence)
        job = board.post(job_name, book=book, details={"store": {"name": "octavia"}})

        conductor = RedisDynamicLoggingConductor(
            "controller",
            board,
            persistence=persistence,
            engine="parallel",
            engine_options={"max_workers": 2},
        )
        consumed: list[dict[str, Any]] = []
        conductor.notifier.register("job_consumed", lambda _e, details: consumed.append(details))
        runner = threading.Thread(target=conductor.run, daemon=True)
        runner.start()
        assert job.wait(timeout=30)
        conductor.stop()
        assert conductor.wait(10)
        stored = persistence.get_connection().get_flow_details(flow_detail.uuid)
        assert stored.state == states.SUCCESS
        results = {ad.name: ad.results for ad in stored}
        assert results == {"greet": "hello, octavia", "shout": "HELLO, OCTAVIA"}
        assert len(consumed) == 1 and set(consumed[0]) == {"job", "conductor", "persistence"}
        assert cleaned == [book.uuid]
        assert extended and all(e is not None and 0 < e <= 30 for e in extended)
        assert board.job_count == 0


def test_fetch_kinds_and_unsupported_boards(redis_conf: dict[str, Any]) -> None:
    from taskflow import exceptions
    from taskflow.conductors import backends as conductor_backends
    from taskflow.conductors.backends import impl_nonblocking
    from taskflow.jobs import backends as job_backends
    from taskflow.listeners.claims import CheckingClaimListener  # noqa: F401 - importable, as Octavia needs

    board = job_backends.fetch("b", redis_conf)
    conductor = conductor_backends.fetch("nonblocking", "c", board, max_simultaneous_jobs=4)
    assert isinstance(conductor, impl_nonblocking.NonBlockingConductor)
    with pytest.raises(exceptions.NotFound, match="Could not find conductor 'turbo'"):
        conductor_backends.fetch("turbo", "c", board)
    with pytest.raises(InvalidOptionError, match="unknown jobboard kind 'consul'"):
        job_backends.fetch("b", {"board": "consul", "host": "127.0.0.1"})


def test_taskflow_zookeeper_conf_fetches_a_working_board(zookeeper_hosts: str) -> None:
    """TaskFlow's ZooKeeper conf (as Octavia writes it) gives a real board: post, claim, consume."""
    from taskflow.jobs import backends as job_backends
    from taskflow.jobs import base as job_base
    from taskflow.jobs.backends import impl_zookeeper

    conf = {
        "board": "zookeeper",
        "hosts": zookeeper_hosts,
        "path": f"/taskflow-test/{uuid.uuid4().hex[:12]}",
        "timeout": 5,
        "check_compatible": True,
    }
    with job_backends.backend("octavia", conf) as board:
        assert isinstance(board, impl_zookeeper.ZookeeperJobBoard)
        job = board.post("amphora", details={"store": {"lb": 1}})
        (listed,) = board.iterjobs(only_unclaimed=True)
        board.claim(listed, "controller-1")
        assert board.find_owner(job) == "controller-1" and listed.state == "CLAIMED"
        removed: list[Any] = []
        board.notifier.register(job_base.REMOVAL, lambda event, details: removed.append(details["job"]))
        board.consume(listed, "controller-1")
        assert board.job_count == 0 and removed == [listed]
        assert impl_zookeeper.ZookeeperJobBoard.MIN_ZK_VERSION == (3, 4, 0)
        board.destroy()


def test_taskflow_board_url_conf_and_one_shared_kazoo_client(zookeeper_hosts: str) -> None:
    """TaskFlow's examples: ``{'board': 'zookeeper://h?path=...'}``, and one client behind many boards."""
    import contextlib

    from taskflow.jobs import backends as job_backends
    from taskflow.utils import kazoo_utils

    path = f"/taskflow-test/{uuid.uuid4().hex[:12]}"
    with job_backends.backend("url", {"board": f"zookeeper://{zookeeper_hosts}?path={path}"}) as board:
        assert (board.hosts, board.path) == (zookeeper_hosts, path)
        board.post("from-url")
    client = kazoo_utils.make_client({"hosts": zookeeper_hosts, "timeout": 5})
    with contextlib.closing(client):  # kazoo's own client refuses to close while started
        boards = [
            job_backends.fetch(f"b{i}", {"board": "zookeeper", "path": path}, client=client) for i in range(3)
        ]
        threads = [threading.Thread(target=b.connect) for b in boards]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert all(b.connected for b in boards)
        for b in boards:
            b.close()
        with job_backends.backend("verifier", {"board": "zookeeper", "path": path}, client=client) as board:
            (job,) = board.iterjobs()
            assert job.name == "from-url"
            board.destroy()
    assert not client.connected


def test_taskflow_zookeeper_persistence_records_a_run_on_a_shared_client(zookeeper_hosts: str) -> None:
    """TaskFlow's ZooKeeper persistence conf and ``client=``: an engine's run is recorded, then read back."""
    import contextlib

    from taskflow import engines, task
    from taskflow.patterns import linear_flow
    from taskflow.persistence import backends as persistence_backends
    from taskflow.persistence import models
    from taskflow.persistence.backends import impl_zookeeper
    from taskflow.utils import kazoo_utils

    class Double(task.Task):
        def execute(self, x: int) -> int:
            return 2 * x

    conf = {
        "connection": "zookeeper",
        "path": f"/taskflow-test/{uuid.uuid4().hex[:12]}",
        "check_compatible": True,
    }
    client = kazoo_utils.make_client({"hosts": zookeeper_hosts, "timeout": 5})
    with contextlib.closing(client):
        with persistence_backends.backend(conf, client=client) as backend:
            assert isinstance(backend, impl_zookeeper.ZkBackend)
            book = models.LogBook("book")
            flow_detail = models.FlowDetail("flow", uuid=str(uuid.uuid4()))
            book.add(flow_detail)
            with contextlib.closing(backend.get_connection()) as conn:
                conn.save_logbook(book)
            flow = linear_flow.Flow("flow").add(Double("double", provides="y"))
            engines.run(flow, store={"x": 21}, book=book, flow_detail=flow_detail, backend=backend)
        assert client.connected  # the backend did not stop a client it was given
        with persistence_backends.backend({**conf, "hosts": zookeeper_hosts}) as reader:
            stored = reader.get_connection().get_logbook(book.uuid)
            (detail,) = stored
            assert detail.state == "SUCCESS"
            assert {a.name: (a.state, a.results) for a in detail} == {"double": ("SUCCESS", 42)}
            reader.get_connection().clear_all()


def test_checking_claim_listener_suspends_an_engine_whose_claim_is_lost(redis_conf: dict[str, Any]) -> None:
    from taskflow import engines, task
    from taskflow.jobs import backends as job_backends
    from taskflow.listeners.claims import CheckingClaimListener
    from taskflow.patterns import linear_flow

    with job_backends.backend("b", redis_conf) as board:
        job = board.post("j")
        board.claim(job, "me")
        engine_box: list[Any] = []

        class LoseClaim(task.Task):
            def execute(self) -> None:
                board.abandon(job, "me")  # someone else's problem now

        class After(task.Task):
            def execute(self) -> None:
                raise AssertionError("ran after the claim was lost")

        flow = linear_flow.Flow("f").add(LoseClaim("lose"), After("after"))
        engine = engines.load(flow)
        engine_box.append(engine)
        with CheckingClaimListener(engine, job, board, "me"):
            engine.run()
        assert engine.storage.get_flow_state() == "SUSPENDED"


def test_taskflow_etcd_conf_fetches_a_working_board(etcd_address: str) -> None:
    from taskflow.jobs import backends as job_backends
    from taskflow.jobs.backends import impl_etcd

    host, _, port = etcd_address.rpartition(":")
    conf = {
        "board": "etcd",
        "host": host,
        "port": int(port),
        "path": f"/taskflow-test/{uuid.uuid4().hex[:12]}",
    }
    with job_backends.backend("octavia", conf) as board:
        assert isinstance(board, impl_etcd.EtcdJobBoard)
        job = board.post("amphora")
        board.claim(job, "controller-1", expiry=30)
        assert board.find_owner(job) == "controller-1"
        board.consume(job, "controller-1")
        assert board.job_count == 0


def test_zookeeper_board_lists_through_fetch_jobs_and_a_conductor_outlives_its_failure(
    zookeeper_hosts: str,
) -> None:
    """TaskFlow's ``_fetch_jobs`` is the ZooKeeper board's listing: a failure there is a transient one."""
    from taskflow import engines
    from taskflow import exceptions as tf_exc
    from taskflow.conductors import backends as conductor_backends
    from taskflow.jobs import backends as job_backends
    from taskflow.jobs import base as job_base
    from taskflow.persistence.backends import impl_memory
    from taskflow.utils import persistence_utils

    persistence = impl_memory.MemoryBackend()
    conf = {"board": "zookeeper", "hosts": zookeeper_hosts, "path": f"/taskflow-test/{uuid.uuid4().hex[:12]}"}
    with job_backends.backend("flaky", conf, persistence=persistence) as board:
        listings: list[bool] = []
        real_fetch = board._fetch_jobs

        def flaky_fetch(*args: Any, **kwargs: Any) -> Any:
            listings.append(True)
            if len(listings) == 1:
                raise tf_exc.JobFailure("the ensemble is electing a leader")
            return real_fetch(*args, **kwargs)

        board._fetch_jobs = flaky_fetch
        with pytest.raises(tf_exc.JobFailure):
            list(board.iterjobs())
        assert len(listings) == 1
        removed = threading.Event()
        board.notifier.register(job_base.REMOVAL, lambda event, details: removed.set())
        listings.clear()
        conductor = conductor_backends.fetch(
            "blocking", "flaky", board, persistence=persistence, wait_timeout=0.05
        )
        runner = threading.Thread(target=conductor.run, daemon=True)
        runner.start()
        try:
            book, detail = persistence_utils.temporary_flow_detail(persistence)
            engines.save_factory_details(detail, make_flow, ["hello"], {}, backend=persistence)
            board.post("greet", book, details={"flow_uuid": detail.uuid, "store": {"name": "zk"}})
            assert removed.wait(30), "the conductor died on the failed listing"
            assert len(listings) >= 2
        finally:
            conductor.stop()
            assert conductor.wait(30)
            runner.join(30)
        board.destroy()

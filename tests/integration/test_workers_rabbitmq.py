"""Remote workers against RabbitMQ, each worker a ``greenflow worker`` subprocess.

The broker is ``GREENFLOW_TEST_AMQP_URL`` (default the local RabbitMQ); every
test uses its own exchange, so runs never see each other's messages. The
tests skip, saying why, only when the broker cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("kombu", reason="the workers extra (kombu) is not installed")

import kombu
from support.tcp_proxy import TcpProxy
from support.worker_tasks import Add, Boom, Double, Pid, Slow, SlowRerunnable

from greenflow import LinearFlow, UnorderedFlow, load
from greenflow.exceptions import RequestTimeout, WorkerError
from greenflow.failure import RemoteFailureError
from greenflow.workers import WorkerExecutor

AMQP_URL = os.environ.get("GREENFLOW_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
ROOT = Path(__file__).resolve().parents[2]
TASKS = ("Add", "Double", "Boom", "Pid", "Slow", "SlowRerunnable")


def _reachable() -> str | None:
    try:
        with kombu.Connection(AMQP_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        return f"RabbitMQ at {AMQP_URL} cannot be reached: {exc!r}"
    return None


_UNREACHABLE = _reachable()
pytestmark = pytest.mark.skipif(_UNREACHABLE is not None, reason=_UNREACHABLE or "")


@pytest.fixture
def exchange() -> Iterator[str]:
    name = f"greenflow-test-{uuid.uuid4().hex}"
    yield name
    # Request queues outlive their consumers on purpose; remove this test's ones.
    with kombu.Connection(AMQP_URL) as conn:
        channel = conn.channel()
        for topic in ("t", "a", "b", "dead", "alive"):
            try:
                channel.queue_delete(f"{name}.{topic}")
            except Exception:
                channel = conn.channel()
        try:
            channel.exchange_delete(name)
        except Exception:
            pass


@pytest.fixture
def spawn_worker(exchange: str) -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    """Start ``greenflow worker`` for a topic; returns once it consumes."""
    procs: list[subprocess.Popen[str]] = []

    def _spawn(topic: str, url: str = AMQP_URL, *extra: str) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "greenflow.cli", "worker", "--url", url, "--exchange", exchange, *extra]
        argv += ["--topic", topic] + [
            arg for name in TASKS for arg in ("--task", f"support.worker_tasks:{name}")
        ]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "consuming topic" in line, f"worker did not start (exit {proc.poll()}): {line!r}"
        return proc

    yield _spawn
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.fixture
def executor(exchange: str) -> Iterator[Callable[..., WorkerExecutor]]:
    made: list[WorkerExecutor] = []

    def _make(topics: list[str], timeout: float = 10.0, url: str = AMQP_URL) -> WorkerExecutor:
        made.append(WorkerExecutor(url, exchange, topics=topics, timeout=timeout))
        return made[-1]

    yield _make
    for obj in made:
        obj.shutdown()


@pytest.fixture
def proxy() -> Iterator[tuple[TcpProxy, str]]:
    """A TCP proxy to the broker and the broker URL through it: cutting it looks like a broker outage."""
    url = kombu.Connection(AMQP_URL)
    with TcpProxy(url.hostname or "127.0.0.1", int(url.port or 5672)) as tcp:
        user, password, vhost = url.userid or "guest", url.password or "guest", url.virtual_host or "/"
        yield tcp, f"amqp://{user}:{password}@127.0.0.1:{tcp.port}/{'' if vhost == '/' else vhost}/"


def _run_pid_flow(executor: WorkerExecutor) -> int:
    engine = load(LinearFlow("f").add(Pid("pid", provides="pid")), engine="parallel", executor=executor)
    engine.run()
    return int(engine.storage.fetch("pid"))


def test_linear_and_unordered_flows_run_on_a_worker_process(spawn_worker, executor):
    worker = spawn_worker("t")
    flow = LinearFlow("f").add(
        Add("add", provides="total"),
        UnorderedFlow("u").add(Double("d1", provides="d1"), Double("d2", provides="d2")),
    )
    engine = load(flow, store={"x": 2, "y": 3}, engine="parallel", executor=executor(["t"]))
    engine.run()
    assert (engine.storage.fetch("d1"), engine.storage.fetch("d2")) == (10, 10)
    assert worker.poll() is None


def test_remote_failure_carries_the_remote_type_and_message(spawn_worker, executor):
    spawn_worker("t")
    engine = load(LinearFlow("f").add(Boom("boom")), engine="parallel", executor=executor(["t"]))
    with pytest.raises(RemoteFailureError) as caught:
        engine.run()
    assert caught.value.failure.exc_type_names[0] == "ValueError"
    assert caught.value.failure.exception_str == "boom from boom"


def test_killing_the_worker_mid_request_ends_in_request_timeout(spawn_worker, executor):
    worker = spawn_worker("t")
    flow = LinearFlow("f").add(Slow("slow"))
    engine = load(flow, store={"seconds": 2.0}, engine="parallel", executor=executor(["t"], timeout=1.5))
    runner = engine.run_iter()
    next(runner)  # RUNNING
    next(runner)  # WAITING: the request is sent
    time.sleep(0.5)  # the worker has it and is running it
    worker.kill()
    with pytest.raises(RequestTimeout) as caught:
        for _ in runner:
            pass
    assert (caught.value.atom, caught.value.topic) == ("slow", "t")


def test_a_rerunnable_task_moves_to_a_second_worker_when_the_first_dies(spawn_worker, executor):
    first = spawn_worker("a")
    second = spawn_worker("b")
    flow = LinearFlow("f").add(SlowRerunnable("slow", provides="pid"))
    engine = load(flow, store={"seconds": 0.5}, engine="parallel", executor=executor(["a", "b"], timeout=1.5))
    runner = engine.run_iter()
    next(runner)
    next(runner)
    time.sleep(0.2)
    first.kill()
    for _ in runner:
        pass
    assert engine.storage.fetch("pid") == second.pid


@pytest.mark.timeout(60)
def test_a_broker_outage_fails_requests_within_timeout_and_the_executor_recovers(
    spawn_worker, executor, proxy
):
    tcp, url = proxy
    worker = spawn_worker("t")
    remote = executor(["t"], timeout=3.0, url=url)
    assert _run_pid_flow(remote) == worker.pid

    # Each request (the execute, then the failed atom's revert) fails within timeout=.
    bound = 2 * 3.0 + 2.0

    # In flight when the broker goes away: the reply can never come.
    engine = load(
        LinearFlow("f").add(Slow("slow")), store={"seconds": 1.0}, engine="parallel", executor=remote
    )
    runner = engine.run_iter()
    next(runner)
    next(runner)
    tcp.cut()
    started = time.monotonic()
    with pytest.raises((RequestTimeout, WorkerError)):
        for _ in runner:
            pass
    assert time.monotonic() - started < bound

    # Sent while the broker is away.
    started = time.monotonic()
    with pytest.raises((RequestTimeout, WorkerError)):
        _run_pid_flow(remote)
    assert time.monotonic() - started < bound

    # Back: the same executor serves again (its reply consumer reconnected).
    tcp.restore()
    assert _run_pid_flow(remote) == worker.pid
    assert _run_pid_flow(remote) == worker.pid


@pytest.mark.timeout(60)
def test_a_worker_reconnects_after_a_broker_outage(spawn_worker, executor, proxy):
    tcp, url = proxy
    worker = spawn_worker("t", url)
    remote = executor(["t"], timeout=10.0)
    assert _run_pid_flow(remote) == worker.pid
    tcp.cut()
    time.sleep(1.5)
    assert worker.poll() is None, "the worker exited when it lost the broker"
    tcp.restore()
    assert _run_pid_flow(remote) == worker.pid
    assert worker.poll() is None


@pytest.mark.timeout(60)
def test_a_worker_that_gives_up_reconnecting_exits_non_zero(spawn_worker, proxy):
    tcp, url = proxy
    worker = spawn_worker("t", url, "--reconnect-timeout", "1")
    tcp.cut()
    assert worker.wait(15) != 0

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
from support.worker_tasks import Add, Boom, Double, Slow, SlowRerunnable

from greenflow import LinearFlow, UnorderedFlow, load
from greenflow.exceptions import RequestTimeout
from greenflow.failure import RemoteFailureError
from greenflow.workers import WorkerExecutor

AMQP_URL = os.environ.get("GREENFLOW_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
ROOT = Path(__file__).resolve().parents[2]
TASKS = ("Add", "Double", "Boom", "Slow", "SlowRerunnable")


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

    def _spawn(topic: str) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "greenflow.cli", "worker", "--url", AMQP_URL, "--exchange", exchange]
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

    def _make(topics: list[str], timeout: float = 10.0) -> WorkerExecutor:
        made.append(WorkerExecutor(AMQP_URL, exchange, topics=topics, timeout=timeout))
        return made[-1]

    yield _make
    for obj in made:
        obj.shutdown()


def test_linear_and_unordered_flows_run_on_a_worker_process(spawn_worker, executor):
    worker = spawn_worker("t")
    flow = LinearFlow("f").add(
        Add("add", provides="total"),
        UnorderedFlow("u").add(Double("d1", provides="d1"), Double("d2", provides="d2")),
    )
    engine = load(flow, store={"x": 2, "y": 3}, engine="worker-based", executor=executor(["t"]))
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

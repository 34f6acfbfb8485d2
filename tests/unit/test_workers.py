"""Remote workers on kombu's in-process memory transport: engine, executor, worker and protocol."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("kombu", reason="the workers extra (kombu) is not installed")

from kombu import Connection, Consumer, Producer, Queue
from support.worker_tasks import (
    REVERTS,
    Add,
    Boom,
    Double,
    Echo,
    Exits,
    Opaque,
    Progressing,
    Slow,
    SlowRerunnable,
)

from greenflow import LinearFlow, UnorderedFlow, load
from greenflow.atoms import EVENT_UPDATE_PROGRESS
from greenflow.exceptions import InvalidOptionError, ProtocolError, RequestTimeout
from greenflow.failure import Failure, RemoteFailureError
from greenflow.workers import (
    PROTOCOL_VERSION,
    Progress,
    Request,
    Response,
    Worker,
    WorkerExecutor,
    parse_message,
)

URL = "memory://"


@pytest.fixture
def exchange() -> str:
    """A fresh exchange per test: the memory transport's state is shared by the whole process."""
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def make(exchange: str) -> Iterator[Callable[..., Any]]:
    """``make(worker=[tasks], topic=...)`` starts a worker; ``make(topics=[...])`` an executor."""
    made: list[Any] = []

    def _make(*, worker: list[Any] | None = None, topic: str = "t", topics: Any = None, timeout: float = 5.0):
        if worker is not None:
            started = Worker(URL, exchange, topic=topic, tasks=worker)
            started.start()
            made.append(started)
            return started
        executor = WorkerExecutor(URL, exchange, topics=topics or ["t"], timeout=timeout)
        made.append(executor)
        return executor

    yield _make
    for obj in reversed(made):
        obj.shutdown() if isinstance(obj, WorkerExecutor) else obj.stop()


def test_linear_flow_runs_on_a_worker(make):
    make(worker=[Add, Double])
    flow = LinearFlow("f").add(Add("add", provides="total"), Double("double", provides="out"))
    engine = load(flow, store={"x": 1, "y": 2}, engine="parallel", executor=make(topics=["t"]))
    engine.run()
    assert engine.storage.fetch("out") == 6


def test_unordered_flow_runs_on_workers_of_two_topics(make):
    make(worker=[Echo], topic="a")
    make(worker=[Echo], topic="b")
    flow = UnorderedFlow("u").add(*(Echo(f"e{i}", provides=f"r{i}") for i in range(4)))
    engine = load(flow, store={"word": "hi"}, engine="parallel", executor=make(topics=["a", "b"]))
    engine.run()
    assert [engine.storage.fetch(f"r{i}") for i in range(4)] == [[f"e{i}", "hi"] for i in range(4)]


def test_failure_comes_back_as_a_remote_failure_and_revert_runs_on_the_worker(make):
    make(worker=[Echo, Boom])
    name = f"echo-{uuid.uuid4().hex[:8]}"
    flow = LinearFlow("f").add(Echo(name, provides="echoed"), Boom("boom"))
    engine = load(flow, store={"word": "w"}, engine="parallel", executor=make())
    with pytest.raises(RemoteFailureError) as caught:
        engine.run()
    failure = caught.value.failure
    assert failure.exc_type_names[0] == "ValueError"
    assert failure.exception_str == "boom from boom"
    assert failure.check(ValueError) is ValueError
    assert [r for r in REVERTS if r[0] == name] == [(name, [name, "w"], {"boom": "boom from boom"})]


def test_progress_reaches_the_engines_atom_notifier(make):
    make(worker=[Progressing])
    engine = load(LinearFlow("f").add(Progressing("work")), engine="parallel", executor=make())
    seen: list[tuple[str, float]] = []
    engine.atom_notifier.register(
        EVENT_UPDATE_PROGRESS,
        lambda _event, details: seen.append((details["task_name"], details["progress"])),
    )
    engine.run()
    assert seen == [("work", 0.25), ("work", 0.75)]


def test_a_task_class_the_worker_does_not_serve_fails_naming_it(make):
    make(worker=[Add])
    engine = load(
        LinearFlow("f").add(Double("double")), store={"total": 1}, engine="parallel", executor=make()
    )
    with pytest.raises(RemoteFailureError) as caught:
        engine.run()
    failure = caught.value.failure
    assert failure.exc_type_names[0] == "greenflow.exceptions.WorkerError"
    assert "does not serve task class 'support.worker_tasks:Double'" in failure.exception_str
    assert "atom 'double'" in failure.exception_str


def test_no_worker_on_the_topic_ends_in_request_timeout_naming_atom_and_topic(make):
    executor = make(topics=["nobody"], timeout=0.3)
    engine = load(
        LinearFlow("f").add(Add("add")), store={"x": 1, "y": 2}, engine="parallel", executor=executor
    )
    with pytest.raises(RequestTimeout) as caught:
        engine.run()
    assert (caught.value.atom, caught.value.topic) == ("add", "nobody")
    assert "atom 'add'" in str(caught.value) and "topic 'nobody'" in str(caught.value)


def test_a_rerunnable_task_is_sent_again_to_another_topic_on_timeout(make):
    make(worker=[SlowRerunnable], topic="alive")
    executor = make(topics=["dead", "alive"], timeout=0.5)
    engine = load(
        LinearFlow("f").add(SlowRerunnable("slow", provides="pid")),
        store={"seconds": 0.0},
        engine="parallel",
        executor=executor,
    )
    engine.run()
    assert isinstance(engine.storage.fetch("pid"), int)


def test_a_task_not_declared_rerunnable_is_not_sent_again(make):
    make(worker=[Slow], topic="alive")
    executor = make(topics=["dead", "alive"], timeout=0.3)
    engine = load(
        LinearFlow("f").add(Slow("slow")), store={"seconds": 0.0}, engine="parallel", executor=executor
    )
    with pytest.raises(RequestTimeout, match="topic 'dead'"):
        engine.run()


def test_a_result_that_is_not_json_fails_naming_the_atom(make):
    make(worker=[Opaque])
    engine = load(LinearFlow("f").add(Opaque("opaque")), engine="parallel", executor=make())
    with pytest.raises(RemoteFailureError) as caught:
        engine.run()
    assert "atom 'opaque'" in caught.value.failure.exception_str
    assert "not JSON-serialisable" in caught.value.failure.exception_str


def test_arguments_that_are_not_json_fail_naming_the_atom(make):
    engine = load(
        LinearFlow("f").add(Double("double")), store={"total": object()}, engine="parallel", executor=make()
    )
    with pytest.raises(Exception, match="atom 'double': its arguments cannot be sent"):
        engine.run()


def test_worker_based_is_not_a_core_engine_kind_and_the_error_says_what_to_use():
    with pytest.raises(InvalidOptionError, match=r"executor=greenflow\.workers\.WorkerExecutor"):
        load(LinearFlow("f").add(Add("add")), engine="worker-based")


def _raw_request(exchange: str, body: Any, **publish: Any) -> dict[str, Any]:
    """Publish ``body`` to topic ``t`` as a raw message; the worker's reply."""
    reply_queue = f"reply-{uuid.uuid4().hex}"
    replies: list[Any] = []
    with Connection(URL) as conn:
        channel = conn.channel()
        queue = Queue(reply_queue, durable=False)
        with Consumer(channel, queues=[queue], accept=["json"], callbacks=[lambda b, m: replies.append(b)]):
            Producer(channel).publish(
                body, exchange=exchange, routing_key="t", reply_to=reply_queue, correlation_id="r1", **publish
            )
            for _ in range(100):
                if replies:
                    break
                try:
                    conn.drain_events(timeout=0.05)
                except TimeoutError:
                    pass
    assert replies, "the worker did not reply"
    return replies[0]  # type: ignore[no-any-return]


def test_worker_refuses_a_pickle_payload_without_running_it(make, exchange):
    make(worker=[Add])
    request = Request(
        id="r1", task="support.worker_tasks:Add", name="add", action="execute", arguments={"x": 1, "y": 2}
    )
    response = parse_message(_raw_request(exchange, request.to_dict(), serializer="pickle"))
    assert isinstance(response, Response) and response.state == "FAILURE"
    failure = Failure.from_dict(response.failure or {})
    assert failure.exc_type_names[0] == "greenflow.exceptions.ProtocolError"
    assert "application/x-python-serialize" in failure.exception_str


def test_worker_reports_invalid_json_as_invalid_json(make, exchange):
    make(worker=[Add])
    reply = _raw_request(
        exchange, b'{"version": 1, "type": ', content_type="application/json", content_encoding="utf-8"
    )
    failure = Failure.from_dict(parse_message(reply).failure or {})  # type: ignore[union-attr]
    assert "not valid JSON" in failure.exception_str
    assert "refused content type" not in failure.exception_str


def test_a_task_raising_system_exit_gets_a_failure_reply_and_a_log_line(make, caplog):
    make(worker=[Exits])
    engine = load(LinearFlow("f").add(Exits("exits")), engine="parallel", executor=make(timeout=5.0))
    with caplog.at_level("WARNING", logger="greenflow.workers"), pytest.raises(RemoteFailureError) as info:
        engine.run()
    assert info.value.failure.exc_type_names[0] == "SystemExit"
    assert any("SystemExit" in r.getMessage() for r in caplog.records)


def test_a_huge_message_id_is_refused_and_never_logged_whole(make, exchange, caplog):
    make(worker=[Add])
    body = _request()
    body["id"] = "i" * 5_000_000
    with pytest.raises(ProtocolError) as info:
        parse_message(body)
    assert len(str(info.value)) < 500
    with caplog.at_level("INFO", logger="greenflow.workers"):
        with Connection(URL) as conn:
            Producer(conn.channel()).publish(body, exchange=exchange, routing_key="t", reply_to="nowhere")
        time.sleep(0.5)
    assert caplog.records and all(len(r.getMessage()) < 2000 for r in caplog.records)


def _request(**changes: Any) -> dict[str, Any]:
    body = Request(id="r1", task="m:C", name="a", action="execute", arguments={"x": 1}).to_dict()
    body.update(changes)
    return {k: v for k, v in body.items() if v is not _DROP}


_DROP = object()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_request(version=_DROP), "version"),
        (_request(version=2), "version"),
        (_request(version="1"), "version"),
        (_request(type="job"), "type"),
        (_request(id=""), "id"),
        (_request(id=7), "id"),
        (_request(task="no-colon"), "task"),
        (_request(name=None), "name"),
        (_request(action="run"), "action"),
        (_request(arguments=[1]), "arguments"),
        (_request(action="revert"), "failures"),
        (_request(action="revert", failures={}, result_failure={"nope": 1}), "result_failure"),
        ({"version": 1, "type": "response", "id": "r", "state": "DONE"}, "state"),
        ({"version": 1, "type": "response", "id": "r", "state": "FAILURE"}, "failure"),
        ({"version": 1, "type": "progress", "id": "r", "progress": 1.5}, "progress"),
        ({"version": 1, "type": "progress", "id": "r", "progress": True}, "progress"),
        ([1, 2], "<body>"),
    ],
)
def test_malformed_message_raises_protocol_error_naming_the_field(body, field):
    with pytest.raises(ProtocolError) as caught:
        parse_message(body)
    assert caught.value.field == field
    assert field in str(caught.value) or field == "<body>"


def test_well_formed_messages_round_trip():
    failure = Failure.from_exception(ValueError("x")).to_dict()
    messages = [
        Request(id="r", task="m:C", name="a", action="execute", arguments={"x": [1]}),
        Request(
            id="r",
            task="m:C",
            name="a",
            action="revert",
            arguments={},
            result_failure=failure,
            failures={"a": failure},
        ),
        Response(id="r", state="SUCCESS", result={"k": None}),
        Response(id="r", state="FAILURE", failure=failure),
        Progress(id="r", progress=0.5),
    ]
    for message in messages:
        assert message.to_dict()["version"] == PROTOCOL_VERSION
        assert parse_message(message.to_dict()) == message


def test_worker_refuses_a_class_that_is_not_a_task():
    with pytest.raises(InvalidOptionError, match="not a greenflow Task subclass"):
        Worker(URL, topic="t", tasks=["builtins:dict"])

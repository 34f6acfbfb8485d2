"""``WorkerExecutor``: an executor object that runs tasks on remote workers.

Give it to an engine (``load(flow, engine='parallel', executor=WorkerExecutor(...))``):
the engine calls ``submit(invoke_atom, kind, atom, kwargs, sink)`` as with any
executor, and gets a :class:`concurrent.futures.Future` of ``(ok, value)``.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final

from greenflow.atoms import Task
from greenflow.exceptions import InvalidOptionError, ProtocolError, RequestTimeout, WorkerError
from greenflow.executors import ExecutorShutdownError
from greenflow.failure import Failure
from greenflow.hubs import Hub, get_hub
from greenflow.workers._broker import (
    CONTENT_TYPES,
    check_names,
    connect,
    kombu_module,
    request_exchange,
    request_queue,
)
from greenflow.workers._protocol import (
    EXECUTE,
    REVERT,
    SUCCESS,
    Progress,
    Request,
    Response,
    dumps_json,
    parse_message,
    task_path,
)

__all__ = ["WorkerExecutor"]

_LOG = logging.getLogger(__name__)

#: Longest wait for replies between two checks of the deadlines and of ``shutdown()``.
_TICK: Final = 0.05


@dataclass(slots=True)
class _Pending:
    future: Future[tuple[bool, Any]]
    atom: Any
    sink: Any
    body: dict[str, Any]
    topic: str
    deadline: float
    redispatched_from: str | None = None


def _failed(error: BaseException) -> Future[tuple[bool, Any]]:
    future: Future[tuple[bool, Any]] = Future()
    future.set_result((False, Failure.from_exception(error)))
    return future


class WorkerExecutor:
    """Sends each task to a worker consuming one of ``topics`` (round-robin) and waits for its reply.

    - ``timeout``: seconds a request may go unanswered; it then fails with
      :class:`~greenflow.exceptions.RequestTimeout` naming the atom and topic.
      A task class with ``redispatch_on_timeout = True`` (it is safe to run
      twice) is first sent once more, to another topic, when there is one.
    - Arguments and results travel as JSON (tuples arrive as lists); a failure
      comes back as a ``Failure`` whose ``reraise()`` raises
      ``RemoteFailureError`` with the remote type names and message.
    - Retry atoms (and any atom that is not a ``Task``) run here, in the
      engine's process: their decisions read the engine's history.
    - Progress the remote task reports reaches the engine's ``atom_notifier``.

    One executor may serve many engines; they never shut it down. Call
    ``shutdown()`` when done: requests still waiting fail with
    ``ExecutorShutdownError``.
    """

    def __init__(
        self,
        url: str,
        exchange: str = "greenflow",
        *,
        topics: list[str],
        timeout: float = 60.0,
        transport_options: dict[str, Any] | None = None,
        hub: Hub | str | None = None,
    ) -> None:
        self.topics = check_names(exchange, topics, "WorkerExecutor")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise InvalidOptionError(
                f"WorkerExecutor: timeout must be a number of seconds > 0, got {timeout!r}"
            )
        self.url = url
        self.exchange = exchange
        self.timeout = float(timeout)
        self._transport_options = transport_options
        self._hub = hub if hub is not None and not isinstance(hub, str) else get_hub(hub)
        # The reply consumer is a hub thread: a green thread under a green hub, so
        # futures complete on the engine's own OS thread (green locks need that).
        self._lock = self._hub.Lock()
        self._publish_lock = self._hub.Lock()
        self._stopping = self._hub.Event()
        self._ready = self._hub.Event()
        self._pending: dict[str, _Pending] = {}
        self._next_topic = itertools.cycle(range(len(self.topics)))
        self._reply_queue = f"greenflow.reply.{uuid.uuid4().hex}"
        self._error: BaseException | None = None
        self._shut_down = False

        kombu = kombu_module()
        self._publish_conn = connect(url, transport_options)
        try:
            channel = self._publish_conn.channel()
            request_exchange(exchange)(channel).declare()
            for topic in self.topics:  # so that a request sent before its worker starts waits for it
                request_queue(exchange, topic)(channel).declare()
            self._producer = kombu.Producer(channel, serializer="json")
        except tuple(self._publish_conn.connection_errors) as exc:
            self._publish_conn.release()
            raise WorkerError(f"WorkerExecutor: cannot reach the broker at {url!r}: {exc}") from exc
        self._thread = self._hub.spawn(self._consume)
        if not self._ready.wait(30.0) or self._error is not None:
            self.shutdown()
            raise WorkerError(
                f"WorkerExecutor: the reply consumer did not start: {self._error!r}"
            ) from self._error

    def submit(
        self, fn: Any, kind: int, atom: Any, kwargs: dict[str, Any], sink: Any = None
    ) -> Future[tuple[bool, Any]]:
        """Send ``atom``'s execute (``kind`` 0) or revert (1) to a worker; ``fn`` runs non-task atoms here."""
        if self._shut_down:
            raise ExecutorShutdownError("WorkerExecutor is shut down; it accepts no more atoms")
        if not isinstance(atom, Task):
            future: Future[tuple[bool, Any]] = Future()
            future.set_result(fn(kind, atom, kwargs, sink))
            return future
        path = task_path(type(atom))
        if "<locals>" in path:
            return _failed(
                WorkerError(
                    f"atom {atom.name!r}: its task class {path!r} is defined inside a function; "
                    "a worker can only serve a class importable from its module"
                )
            )
        arguments = dict(kwargs)
        extra: dict[str, Any] = {}
        if kind != 0:
            result = arguments.pop("result", None)
            if isinstance(result, Failure):
                extra["result_failure"] = result.to_dict()
            else:
                extra["result"] = result
            failures = arguments.pop("flow_failures", None) or {}
            extra["failures"] = {name: failure.to_dict() for name, failure in failures.items()}
        request = Request(
            id=uuid.uuid4().hex,
            task=path,
            name=atom.name,
            action=EXECUTE if kind == 0 else REVERT,
            arguments=arguments,
            **extra,
        )
        body = request.to_dict()
        try:
            dumps_json(body)
        except (TypeError, ValueError) as exc:
            return _failed(
                WorkerError(
                    f"atom {atom.name!r}: its arguments cannot be sent to a worker as JSON "
                    f"({', '.join(sorted(arguments))}): {exc}"
                )
            )
        future = Future()
        with self._lock:
            topic = self.topics[next(self._next_topic)]
            self._pending[request.id] = _Pending(
                future, atom, sink, body, topic, self._hub.monotonic() + self.timeout
            )
        try:
            self._publish(body, topic)
        except Exception as exc:
            with self._lock:
                self._pending.pop(request.id, None)
            raise WorkerError(
                f"atom {atom.name!r}: cannot send its request to topic {topic!r}: {exc}"
            ) from exc
        return future

    def _publish(self, body: dict[str, Any], topic: str) -> None:
        with self._publish_lock:
            self._producer.publish(
                body,
                exchange=self.exchange,
                routing_key=topic,
                reply_to=self._reply_queue,
                correlation_id=body["id"],
                serializer="json",
                # Past the timeout nobody waits for it: the broker drops it unserved.
                expiration=self.timeout,
                retry=True,
            )

    def _consume(self) -> None:
        kombu = kombu_module()
        conn = connect(self.url, self._transport_options)
        try:
            channel = conn.channel()
            queue = kombu.Queue(self._reply_queue, exclusive=True, auto_delete=True, durable=False)
            with kombu.Consumer(
                channel,
                queues=[queue],
                callbacks=[self._on_reply],
                accept=list(CONTENT_TYPES),
                no_ack=True,
                on_decode_error=self._on_decode_error,
            ):
                self._ready.set()
                while not self._stopping.is_set():
                    try:
                        conn.drain_events(timeout=_TICK)
                    except TimeoutError:
                        pass
                    self._expire()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            _LOG.exception("WorkerExecutor: the reply consumer stopped on an error")
            reason = str(exc)
            self._fail_pending(
                lambda p: WorkerError(f"atom {p.atom.name!r}: reply consumer failed: {reason}")
            )
        finally:
            conn.release()

    def _on_decode_error(self, message: Any, exc: Exception) -> None:
        _LOG.warning("WorkerExecutor: refused a reply (content type %r): %s", message.content_type, exc)

    def _on_reply(self, body: Any, message: Any) -> None:
        try:
            reply = parse_message(body)
        except ProtocolError as exc:
            msg_id = body.get("id") if isinstance(body, dict) else None
            with self._lock:
                pending = self._pending.pop(msg_id, None) if isinstance(msg_id, str) else None
            if pending is None:
                _LOG.warning("WorkerExecutor: dropped a malformed reply: %s", exc)
            else:
                pending.future.set_result((False, Failure.from_exception(exc)))
            return
        if isinstance(reply, Progress):
            with self._lock:
                pending = self._pending.get(reply.id)
            if pending is not None and pending.sink is not None:
                try:
                    pending.sink(pending.atom, reply.progress)
                except Exception:  # a listener's bug must not stop the replies of every engine
                    _LOG.exception("WorkerExecutor: progress listener of %r failed", pending.atom.name)
            return
        if not isinstance(reply, Response):
            _LOG.warning("WorkerExecutor: dropped a %s on the reply queue", type(reply).__name__)
            return
        with self._lock:
            pending = self._pending.pop(reply.id, None)
        if pending is None:  # answered after its timeout (or a second answer after a re-dispatch)
            _LOG.info("WorkerExecutor: late reply to request %r ignored", reply.id)
            return
        if reply.state == SUCCESS:
            pending.future.set_result((True, reply.result))
        else:
            assert reply.failure is not None  # parse_message checked it
            pending.future.set_result((False, Failure.from_dict(reply.failure)))

    def _expire(self) -> None:
        now = self._hub.monotonic()
        expired: list[_Pending] = []
        with self._lock:
            for msg_id, pending in list(self._pending.items()):
                if pending.deadline > now:
                    continue
                if (
                    pending.redispatched_from is None
                    and len(self.topics) > 1
                    and getattr(type(pending.atom), "redispatch_on_timeout", False) is True
                ):
                    index = (self.topics.index(pending.topic) + 1) % len(self.topics)
                    pending.redispatched_from, pending.topic = pending.topic, self.topics[index]
                    pending.deadline = now + self.timeout
                    try:
                        self._publish(pending.body, pending.topic)
                        _LOG.warning(
                            "WorkerExecutor: atom %r got no reply on topic %r; sent again to topic %r",
                            pending.atom.name,
                            pending.redispatched_from,
                            pending.topic,
                        )
                        continue
                    except Exception:
                        _LOG.exception("WorkerExecutor: re-dispatch of %r failed", pending.atom.name)
                del self._pending[msg_id]
                expired.append(pending)
        for pending in expired:
            pending.future.set_result((False, Failure.from_exception(self._timeout_error(pending))))

    def _timeout_error(self, pending: _Pending) -> RequestTimeout:
        also = (
            f" (after no reply on topic {pending.redispatched_from!r} either)"
            if pending.redispatched_from
            else ""
        )
        return RequestTimeout(
            f"atom {pending.atom.name!r}: no reply from a worker on topic {pending.topic!r} "
            f"(exchange {self.exchange!r}) within {self.timeout:g}s{also}",
            atom=pending.atom.name,
            topic=pending.topic,
            timeout=self.timeout,
        )

    def _fail_pending(self, error: Any) -> None:
        with self._lock:
            pending_all = list(self._pending.values())
            self._pending.clear()
        for pending in pending_all:
            pending.future.set_result((False, Failure.from_exception(error(pending))))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the reply consumer; requests still waiting fail with ``ExecutorShutdownError``."""
        if self._shut_down:
            return
        self._shut_down = True
        self._stopping.set()
        if wait:
            self._thread.join(5.0)
        self._fail_pending(
            lambda p: ExecutorShutdownError(
                f"atom {p.atom.name!r}: WorkerExecutor was shut down before a worker replied"
            )
        )
        self._publish_conn.release()

    def __enter__(self) -> WorkerExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"WorkerExecutor(topics={self.topics!r}, exchange={self.exchange!r}, timeout={self.timeout:g})"

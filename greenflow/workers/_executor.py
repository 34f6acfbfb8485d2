"""``WorkerExecutor``: an executor object that runs tasks on remote workers.

Give it to an engine (``load(flow, engine='parallel', executor=WorkerExecutor(...))``):
the engine starts atoms through its ``atom_starter()`` (the engine-executor seam,
``greenflow.executors.Starter``), which sends each task's ``Action`` with
``submit_atom(action, sink)`` and gets a :class:`concurrent.futures.Future` of
its ``AtomOutcome``. It runs atoms only: ``submit()`` of an arbitrary callable
is refused.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final

from greenflow.atoms import Action, ActionKind, AtomOutcome, ProgressSink, Task, invoke_atom
from greenflow.exceptions import InvalidOptionError, ProtocolError, RequestTimeout, WorkerError
from greenflow.executors import ExecutorShutdownError, FutureStarter
from greenflow.failure import Failure
from greenflow.hubs import Hub, resolve_hub
from greenflow.masking import mask_text, mask_url
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

#: kombu's reconnection attempts for one publish: a few quick ones, never an unbounded wait
#: (a request the broker does not take waits unsent until its deadline).
_PUBLISH_RETRY: Final = {"max_retries": 2, "interval_start": 0.0, "interval_step": 0.2, "interval_max": 0.5}

#: Backoff of the reply consumer's reconnection attempts (first, longest), in seconds.
_RECONNECT_FIRST: Final = 0.1
_RECONNECT_MAX: Final = 2.0


@dataclass(slots=True)
class _Pending:
    future: Future[AtomOutcome]
    atom: Any
    sink: Any
    body: dict[str, Any]
    topic: str
    deadline: float
    redispatched_from: str | None = None
    #: Whether the broker took it; a request made while the broker is away waits unsent.
    sent: bool = False
    send_error: str | None = None


def _failed(error: BaseException) -> Future[AtomOutcome]:
    future: Future[AtomOutcome] = Future()
    future.set_result(AtomOutcome(False, Failure.from_exception(error)))
    return future


class _WorkerStarter(FutureStarter):
    """Starts each action with ``WorkerExecutor.submit_atom`` (the remote kind of ``Starter``)."""

    __slots__ = ("_submit_atom",)

    def __init__(self, executor: WorkerExecutor) -> None:
        self._submit_atom = executor.submit_atom

    def start(self, action: Action, sink: ProgressSink | None, done: Any) -> None:
        self._submit_atom(action, sink).add_done_callback(lambda f: done(action, f))


class WorkerExecutor:
    """Sends each task to a worker consuming one of ``topics`` (round-robin) and waits for its reply.

    - ``timeout``: seconds a request may go unanswered; it then fails with
      :class:`~greenflow.exceptions.RequestTimeout` naming the atom and topic.
      It holds whatever the broker does: a request made while the broker is
      away waits unsent (and is sent if the broker comes back in time), the
      reply consumer reconnects with backoff, and publishing never retries
      without bound.
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
        self._hub = resolve_hub(hub)
        # The reply consumer is a hub thread: a green thread under a green hub, so
        # futures complete on the engine's own OS thread (green locks need that).
        self._lock = self._hub.Lock()
        self._publish_lock = self._hub.Lock()
        self._stopping = self._hub.Event()
        # Set while the reply consumer consumes: requests are only published then, since a
        # reply sent while the reply queue is gone (broker restarted) would be lost.
        self._consuming = self._hub.Event()
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
        except (*self._publish_conn.connection_errors, OSError) as exc:
            self._publish_conn.release()
            raise WorkerError(
                f"WorkerExecutor: cannot reach the broker at {mask_url(url)!r}: {mask_text(str(exc))}"
            ) from exc
        self._thread = self._hub.spawn(self._consume)
        # Deadlines are kept by their own thread: a consumer stuck reconnecting must not stop them.
        self._watcher = self._hub.spawn(self._watch)
        if not self._consuming.wait(30.0):
            self.shutdown()
            raise WorkerError(
                f"WorkerExecutor: the reply consumer did not start: {mask_text(repr(self._error))}"
            ) from self._error

    def atom_starter(self) -> _WorkerStarter:
        """How an engine starts atoms here (``greenflow.executors.starter_for`` asks for it)."""
        return _WorkerStarter(self)

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Refused: a worker runs the tasks it serves, not arbitrary callables (see ``submit_atom``)."""
        raise TypeError(
            f"WorkerExecutor runs atoms only (an engine sends them with submit_atom()); "
            f"it cannot run {fn!r} (use a ThreadExecutor or GreenExecutor for plain calls)"
        )

    def submit_atom(self, action: Action, sink: ProgressSink | None = None) -> Future[AtomOutcome]:
        """Send a task's execute or revert to a worker; atoms that are not tasks (retries) run here."""
        if self._shut_down:
            raise ExecutorShutdownError("WorkerExecutor is shut down; it accepts no more atoms")
        kind, atom, kwargs = action.kind, action.atom, action.kwargs
        if not isinstance(atom, Task):
            future: Future[AtomOutcome] = Future()
            future.set_result(invoke_atom(kind, atom, kwargs, sink))
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
        if kind != ActionKind.EXECUTE:
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
            action=EXECUTE if kind == ActionKind.EXECUTE else REVERT,
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
            pending = _Pending(future, atom, sink, body, topic, self._hub.monotonic() + self.timeout)
            # Marked sent while this thread sends it, so that the watcher does not send it too.
            pending.sent = self._consuming.is_set()
            self._pending[request.id] = pending
        if pending.sent:
            self._send(pending)
        # Otherwise the broker is away: the watcher sends it once the consumer is back,
        # or fails it at its deadline.
        return future

    def _send(self, pending: _Pending) -> bool:
        """Publish ``pending`` (a few quick reconnection attempts at most); ``False`` if it could not be."""
        try:
            with self._publish_lock:
                self._producer.publish(
                    pending.body,
                    exchange=self.exchange,
                    routing_key=pending.topic,
                    reply_to=self._reply_queue,
                    correlation_id=pending.body["id"],
                    serializer="json",
                    # Past the timeout nobody waits for it: the broker drops it unserved.
                    expiration=max(pending.deadline - self._hub.monotonic(), 0.001),
                    retry=True,
                    retry_policy=_PUBLISH_RETRY,
                )
        except Exception as exc:  # any broker or socket error: the request stays unsent
            pending.sent = False
            pending.send_error = mask_text(f"{type(exc).__name__}: {exc}")
            return False
        pending.sent = True
        return True

    def _consume(self) -> None:
        """Consume replies until ``shutdown()``, reconnecting (with backoff) whenever the broker is lost."""
        delay = _RECONNECT_FIRST
        while not self._stopping.is_set():
            try:
                self._consume_once()
                return
            except Exception as exc:  # the broker went away (or never came): try again
                self._consuming.clear()
                self._error = exc
                _LOG.warning(
                    "WorkerExecutor: lost the broker at %s (%s); reconnecting in %.1fs",
                    mask_url(self.url),
                    mask_text(f"{type(exc).__name__}: {exc}"),
                    delay,
                )
            self._stopping.wait(delay)
            delay = min(delay * 2, _RECONNECT_MAX)

    def _consume_once(self) -> None:
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
                if self._error is not None:
                    _LOG.warning("WorkerExecutor: reconnected to the broker at %s", mask_url(self.url))
                    self._error = None
                self._consuming.set()
                while not self._stopping.is_set():
                    try:
                        conn.drain_events(timeout=_TICK)
                    except TimeoutError:
                        pass
        finally:
            self._consuming.clear()
            try:
                conn.release()
            except Exception:  # a dead connection may fail to close; it is dropped either way
                pass

    def _watch(self) -> None:
        """Fail requests past their deadline; send the ones the broker was away for once it is back."""
        while not self._stopping.wait(_TICK):
            try:
                self._expire()
                if self._consuming.is_set():
                    with self._lock:
                        unsent = [p for p in self._pending.values() if not p.sent]
                    for pending in unsent:
                        if not self._send(pending):
                            break
            except Exception:  # never let the deadlines stop being kept
                _LOG.exception("WorkerExecutor: checking request deadlines failed")

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
                pending.future.set_result(AtomOutcome(False, Failure.from_exception(exc)))
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
            pending.future.set_result(AtomOutcome(True, reply.result))
        else:
            assert reply.failure is not None  # parse_message checked it
            pending.future.set_result(AtomOutcome(False, Failure.from_dict(reply.failure)))

    def _expire(self) -> None:
        now = self._hub.monotonic()
        expired: list[_Pending] = []
        again: list[_Pending] = []
        with self._lock:
            for msg_id, pending in list(self._pending.items()):
                if pending.deadline > now:
                    continue
                if (
                    pending.sent
                    and pending.redispatched_from is None
                    and len(self.topics) > 1
                    and getattr(type(pending.atom), "redispatch_on_timeout", False) is True
                ):
                    index = (self.topics.index(pending.topic) + 1) % len(self.topics)
                    pending.redispatched_from, pending.topic = pending.topic, self.topics[index]
                    pending.deadline = now + self.timeout
                    again.append(pending)
                    continue
                del self._pending[msg_id]
                expired.append(pending)
        for pending in again:  # published outside the lock: a slow broker must not block submit()
            if self._send(pending):
                _LOG.warning(
                    "WorkerExecutor: atom %r got no reply on topic %r; sent again to topic %r",
                    pending.atom.name,
                    pending.redispatched_from,
                    pending.topic,
                )
            else:
                _LOG.warning(
                    "WorkerExecutor: re-dispatch of %r failed: %s", pending.atom.name, pending.send_error
                )
        for pending in expired:
            pending.future.set_result(
                AtomOutcome(False, Failure.from_exception(self._timeout_error(pending)))
            )

    def _timeout_error(self, pending: _Pending) -> RequestTimeout:
        if not pending.sent:
            why = pending.send_error or (
                f"the broker at {mask_url(self.url)} is unreachable" if not self._consuming.is_set() else ""
            )
            also = f": it could not be sent ({why})" if why else ": it could not be sent"
        elif pending.redispatched_from:
            also = f" (after no reply on topic {pending.redispatched_from!r} either)"
        else:
            also = ""
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
            pending.future.set_result(AtomOutcome(False, Failure.from_exception(error(pending))))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the reply consumer; requests still waiting fail with ``ExecutorShutdownError``."""
        if self._shut_down:
            return
        self._shut_down = True
        self._stopping.set()
        if wait:
            self._thread.join(5.0)
            self._watcher.join(5.0)
        self._fail_pending(
            lambda p: ExecutorShutdownError(
                f"atom {p.atom.name!r}: WorkerExecutor was shut down before a worker replied"
            )
        )
        try:
            self._publish_conn.release()
        except Exception:  # a connection the broker dropped may fail to close; it is gone either way
            pass

    def __enter__(self) -> WorkerExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"WorkerExecutor(topics={self.topics!r}, exchange={self.exchange!r}, timeout={self.timeout:g})"

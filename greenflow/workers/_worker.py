"""``Worker``: serves requests for one topic by running the task classes it was given."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from typing import Any, Final

from greenflow.atoms import ActionKind, Task, invoke_atom
from greenflow.exceptions import InvalidOptionError, ProtocolError, WorkerError
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
    FAILURE,
    MAX_ID_LENGTH,
    SUCCESS,
    Progress,
    Request,
    Response,
    dumps_json,
    parse_message,
    task_path,
)

__all__ = ["Worker"]

_LOG = logging.getLogger(__name__)

#: Content types that are JSON: a body of one kombu could not decode is invalid JSON.
_JSON_TYPES: Final = frozenset({"application/json", "json"})

#: How long one wait for messages lasts: the delay before ``stop()`` is noticed.
_TICK = 0.05

#: A reply gets a few quick reconnection attempts, never an unbounded wait: an
#: unsent reply ends in the engine's request timeout.
_PUBLISH_RETRY: Final = {"max_retries": 2, "interval_start": 0.0, "interval_step": 0.2, "interval_max": 0.5}

#: Backoff of the reconnection attempts after the broker is lost (first, longest), in seconds.
_RECONNECT_FIRST: Final = 0.1
_RECONNECT_MAX: Final = 2.0


def _load_task_class(spec: Any) -> tuple[str, type[Task]]:
    if isinstance(spec, str):
        module_name, sep, qualname = spec.partition(":")
        if not sep or not module_name or not qualname:
            raise InvalidOptionError(f"worker task {spec!r}: expected 'module:QualName'")
        try:
            target: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise InvalidOptionError(f"worker task {spec!r} cannot be loaded: {exc}") from exc
    else:
        target = spec
    if not isinstance(target, type) or not issubclass(target, Task):
        raise InvalidOptionError(f"worker task {spec!r} is not a greenflow Task subclass")
    return task_path(target), target


class Worker:
    """Runs requests sent to ``topic`` on exchange ``exchange``, for the task classes in ``tasks``.

    ``tasks`` lists classes or ``"module:QualName"`` strings. A request names
    its task class; a class not in ``tasks`` is refused with a FAILURE reply
    (no request makes the worker import anything). Each request instantiates
    its class with ``name=`` the atom's name only, so served classes must be
    constructible that way; ``execute``/``revert`` get the request's arguments.
    Requests run on ``executor`` (by default a green executor under a green
    hub, a thread pool otherwise); ``run()`` serves until ``stop()``,
    ``start()`` does so in the background.

    A lost broker is reconnected to with backoff; after ``reconnect_timeout``
    seconds of outage (``None``: never) ``run()`` raises ``WorkerError``, and
    :attr:`error` tells a background worker's supervisor why it stopped.
    """

    def __init__(
        self,
        url: str,
        exchange: str = "greenflow",
        *,
        topic: str,
        tasks: Iterable[type[Task] | str],
        executor: Any = None,
        transport_options: dict[str, Any] | None = None,
        hub: Hub | str | None = None,
        reconnect_timeout: float | None = 300.0,
    ) -> None:
        if reconnect_timeout is not None and (
            isinstance(reconnect_timeout, bool)
            or not isinstance(reconnect_timeout, (int, float))
            or reconnect_timeout < 0
        ):
            raise InvalidOptionError(
                "Worker: reconnect_timeout must be a number of seconds >= 0 or None, "
                f"got {reconnect_timeout!r}"
            )
        self.reconnect_timeout = None if reconnect_timeout is None else float(reconnect_timeout)
        self._connected = False
        self.topic = check_names(exchange, [topic], "Worker")[0]
        self.url = url
        self.exchange = exchange
        self._tasks: dict[str, type[Task]] = {}
        for spec in tasks:
            path, cls = _load_task_class(spec)
            self._tasks[path] = cls
        if not self._tasks:
            raise InvalidOptionError("Worker: tasks must list at least one task class")
        self._transport_options = transport_options
        self._hub = resolve_hub(hub)
        self._executor = executor
        self._owns_executor = False
        self._stopping = self._hub.Event()
        self._ready = self._hub.Event()
        self._stopped = self._hub.Event()
        self._publish_lock = self._hub.Lock()
        self._producer: Any = None
        self._thread: Any = None
        self._error: BaseException | None = None

    @property
    def error(self) -> BaseException | None:
        """Why a worker started by ``start()`` stopped on its own (``None`` after ``stop()``)."""
        return self._error

    @property
    def served(self) -> tuple[str, ...]:
        """The ``"module:QualName"`` of every task class this worker runs."""
        return tuple(sorted(self._tasks))

    def start(self, timeout: float = 30.0) -> None:
        """Serve in the background; return once the worker consumes its topic's queue."""
        self._thread = self._hub.spawn(self._run_capturing)
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise WorkerError(
                f"worker for topic {self.topic!r} did not start within {timeout}s: {self._error!r}"
            ) from self._error

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop serving; requests already running finish and send their replies first."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_started(self, timeout: float | None = None) -> bool:
        """Block until the worker consumes its topic's queue; ``False`` on timeout.

        For a worker whose ``run()`` was started in another thread.
        """
        return bool(self._ready.wait(timeout))

    def wait_stopped(self) -> None:
        """Block until a worker started by ``start()`` has stopped (after ``stop()`` or an error)."""
        # Short waits: a signal handler calling stop() runs between them.
        while not self._stopped.wait(0.5):
            pass

    def _run_capturing(self) -> None:
        try:
            self.run()
        except BaseException as exc:
            self._error = exc
            self._ready.set()  # wake start(), which reports the error
            _LOG.exception("worker for topic %r stopped on an error", self.topic)
        finally:
            self._stopped.set()

    def run(self) -> None:
        """Serve requests until ``stop()``, reconnecting with backoff whenever the broker is lost.

        Raises ``WorkerError`` when the broker stays unreachable for longer
        than ``reconnect_timeout`` seconds.
        """
        executor = self._executor
        if executor is None:
            from greenflow.executors import make_executor

            executor, self._owns_executor = make_executor(None, hub=self._hub)
        try:
            delay = _RECONNECT_FIRST
            lost_at: float | None = None
            while not self._stopping.is_set():
                self._connected = False
                try:
                    self._serve_connection(executor)
                    return
                except Exception as exc:  # any broker or socket error: reconnect, or give up
                    now = self._hub.monotonic()
                    reason = mask_text(f"{type(exc).__name__}: {exc}")
                    if self._connected or lost_at is None:  # a new outage
                        lost_at, delay = now, _RECONNECT_FIRST
                        _LOG.warning(
                            "worker for topic %r: broker at %s unreachable (%s); reconnecting",
                            self.topic,
                            mask_url(self.url),
                            reason,
                        )
                    if self.reconnect_timeout is not None and now - lost_at >= self.reconnect_timeout:
                        raise WorkerError(
                            f"worker for topic {self.topic!r}: broker at {mask_url(self.url)} unreachable "
                            f"for {self.reconnect_timeout:g}s, giving up: {reason}"
                        ) from exc
                self._stopping.wait(delay)
                delay = min(delay * 2, _RECONNECT_MAX)
        finally:
            if self._owns_executor:
                executor.shutdown(wait=True)

    def _serve_connection(self, executor: Any) -> None:
        """Consume on one pair of connections until ``stop()``; a broker error propagates."""
        kombu = kombu_module()
        consume_conn = connect(self.url, self._transport_options)
        publish_conn = connect(self.url, self._transport_options)
        try:
            channel = consume_conn.channel()
            producer = kombu.Producer(publish_conn.channel(), serializer="json")
            with self._publish_lock:
                self._producer = producer
            queue = request_queue(self.exchange, self.topic)
            request_exchange(self.exchange)(channel).declare()
            with kombu.Consumer(
                channel,
                queues=[queue],
                callbacks=[lambda body, message: self._on_request(body, message, executor)],
                accept=list(CONTENT_TYPES),
                on_decode_error=self._on_decode_error,
            ):
                self._connected = True
                if self._ready.is_set():
                    _LOG.warning("worker for topic %r reconnected to the broker", self.topic)
                else:
                    self._ready.set()
                    _LOG.info("worker consuming topic %r, serving %s", self.topic, ", ".join(self.served))
                while not self._stopping.is_set():
                    try:
                        consume_conn.drain_events(timeout=_TICK)
                    except TimeoutError:
                        pass
        finally:
            for conn in (consume_conn, publish_conn):
                try:
                    conn.release()
                except Exception:  # a connection the broker dropped may fail to close; it is gone
                    pass

    def _on_decode_error(self, message: Any, exc: Exception) -> None:
        # A payload kombu refuses (pickle, ...) is never decoded; tell the sender if it can be told.
        message.ack()
        _LOG.warning("worker for topic %r refused a message: %.200s", self.topic, exc)
        reply_to = message.properties.get("reply_to")
        msg_id = message.properties.get("correlation_id")
        if reply_to and isinstance(msg_id, str) and 0 < len(msg_id) <= MAX_ID_LENGTH:
            if message.content_type in _JSON_TYPES:
                error = ProtocolError(
                    f"worker for topic {self.topic!r} got a body that is not valid JSON: {exc!s:.200}",
                    field="<body>",
                )
            else:
                error = ProtocolError(
                    f"worker for topic {self.topic!r} refused content type {message.content_type!r:.100}: "
                    f"only {', '.join(CONTENT_TYPES)} is accepted",
                    field="content_type",
                )
            self._reply(reply_to, Response(msg_id, FAILURE, failure=Failure.from_exception(error).to_dict()))

    def _on_request(self, body: Any, message: Any, executor: Any) -> None:
        # Acknowledged on receipt: a lost worker means a timeout (and maybe a
        # re-dispatch the task allowed), never a silent second run elsewhere.
        message.ack()
        reply_to = message.properties.get("reply_to")
        try:
            request = parse_message(body)
            if not isinstance(request, Request):
                raise ProtocolError(
                    f"worker for topic {self.topic!r} got a {type(request).__name__.lower()} message, "
                    "expected a request",
                    field="type",
                )
            if not reply_to:
                raise ProtocolError(f"request {request.id!r} has no reply_to queue", field="reply_to")
        except ProtocolError as exc:
            _LOG.warning("worker for topic %r dropped a malformed request: %s", self.topic, exc)
            msg_id = body.get("id") if isinstance(body, dict) else None
            if reply_to and isinstance(msg_id, str) and 0 < len(msg_id) <= MAX_ID_LENGTH:
                self._reply(
                    reply_to, Response(msg_id, FAILURE, failure=Failure.from_exception(exc).to_dict())
                )
            return
        try:
            executor.submit(self._serve, request, reply_to)
        except Exception as exc:  # shutting down: tell the engine rather than leave it to time out
            self._reply(
                reply_to, Response(request.id, FAILURE, failure=Failure.from_exception(exc).to_dict())
            )

    def _serve(self, request: Request, reply_to: str) -> None:
        try:
            self._reply(reply_to, self._outcome(request, reply_to))
        except Exception:  # a thread of the executor: log, never lose it silently
            _LOG.exception("worker for topic %r could not answer request %r", self.topic, request.id)

    def _outcome(self, request: Request, reply_to: str) -> Response:
        cls = self._tasks.get(request.task)
        if cls is None:
            error = WorkerError(
                f"worker for topic {self.topic!r} does not serve task class {request.task!r} "
                f"(atom {request.name!r}); it serves: {', '.join(self.served)}"
            )
            return Response(request.id, FAILURE, failure=Failure.from_exception(error).to_dict())
        kwargs = dict(request.arguments)
        if request.action != EXECUTE:
            failure = request.result_failure
            kwargs["result"] = Failure.from_dict(failure) if failure is not None else request.result
            kwargs["flow_failures"] = {k: Failure.from_dict(v) for k, v in request.failures.items()}
        try:
            task = cls(name=request.name)
        except Exception as exc:
            return Response(request.id, FAILURE, failure=Failure.from_exception(exc).to_dict())

        def sink(_atom: Any, progress: float) -> None:
            self._reply(reply_to, Progress(request.id, progress))

        kind = ActionKind.EXECUTE if request.action == EXECUTE else ActionKind.REVERT
        try:
            ok, value = invoke_atom(kind, task, kwargs, sink)
        except BaseException as exc:  # SystemExit, KeyboardInterrupt...: the engine must still hear
            _LOG.warning(
                "worker for topic %r: atom %r (%s) raised %s; replying FAILURE",
                self.topic,
                request.name,
                request.task,
                type(exc).__name__,
            )
            return Response(request.id, FAILURE, failure=Failure.from_exception(exc).to_dict())
        if not ok:
            return Response(request.id, FAILURE, failure=value.to_dict())
        try:
            dumps_json(value)
        except (TypeError, ValueError) as exc:
            error = WorkerError(
                f"atom {request.name!r} ({request.task}): {request.action} returned a value that is "
                f"not JSON-serialisable ({type(value).__name__}): {exc}"
            )
            return Response(request.id, FAILURE, failure=Failure.from_exception(error).to_dict())
        return Response(request.id, SUCCESS, result=value)

    def _reply(self, reply_to: str, message: Response | Progress) -> None:
        # One producer for every executor thread: kombu channels are not thread-safe.
        with self._publish_lock:
            self._producer.publish(
                message.to_dict(),
                exchange="",
                routing_key=reply_to,
                correlation_id=message.id,
                serializer="json",
                retry=True,
                retry_policy=_PUBLISH_RETRY,
            )

    def __repr__(self) -> str:
        return f"Worker(topic={self.topic!r}, exchange={self.exchange!r}, tasks={list(self.served)})"

"""The broker layout both sides agree on: one direct exchange, one queue per topic.

Requests go to exchange ``exchange`` with the topic as routing key, into the
queue ``"<exchange>.<topic>"``; both the workers and the executor declare it
(with identical arguments, as AMQP requires), so a request sent before its
worker starts waits for it. Replies go through the default exchange straight
to the executor's own reply queue.
"""

from __future__ import annotations

from typing import Any, Final

from greenflow.exceptions import InvalidOptionError, WorkerError

__all__ = ["CONTENT_TYPES", "check_names", "connect", "kombu_module", "request_exchange", "request_queue"]

#: The only content types either side decodes: nothing from the wire is unpickled.
CONTENT_TYPES: Final = ("json",)

#: Virtual transports (``memory://``) poll; the default second between polls
#: would add up to a second to every request.
_DEFAULT_TRANSPORT_OPTIONS: Final = {"polling_interval": 0.01}


def kombu_module() -> Any:
    """The kombu module (untyped here: its partial annotations do not pass strict mypy)."""
    try:
        import kombu
    except ImportError as exc:
        raise WorkerError(
            "greenflow.workers needs kombu; install it with: pip install greenflow[workers]"
        ) from exc
    return kombu


def connect(url: str, transport_options: dict[str, Any] | None) -> Any:
    """A new (lazy) kombu connection to ``url``."""
    options = {**_DEFAULT_TRANSPORT_OPTIONS, **(transport_options or {})}
    return kombu_module().Connection(url, transport_options=options)


def request_exchange(name: str) -> Any:
    """The direct exchange requests are published to."""
    return kombu_module().Exchange(name, type="direct", durable=False)


def request_queue(exchange: str, topic: str) -> Any:
    """The queue holding the requests for ``topic``."""
    return kombu_module().Queue(
        f"{exchange}.{topic}",
        request_exchange(exchange),
        routing_key=topic,
        durable=False,
        auto_delete=False,
    )


def check_names(exchange: Any, topics: Any, what: str) -> list[str]:
    """Validate the exchange name and topic names given to a worker or an executor."""
    if not isinstance(exchange, str) or not exchange:
        raise InvalidOptionError(f"{what}: exchange must be a non-empty string, got {exchange!r}")
    if isinstance(topics, str) or not topics or not all(isinstance(t, str) and t for t in topics):
        raise InvalidOptionError(
            f"{what}: topics must be a non-empty list of non-empty strings, got {topics!r}"
        )
    return list(topics)

"""``taskflow.utils.misc``: the helpers of TaskFlow's grab-bag module its users call.

Only the functions TaskFlow's examples, tests and the services using TaskFlow
call; each is small and standalone.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import socket
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from greenflow.persistence import version_text

__all__ = [
    "as_int",
    "binary_decode",
    "binary_encode",
    "capture_failure",
    "clamp",
    "countdown_iter",
    "decode_json",
    "get_hostname",
    "get_version_string",
    "is_iterable",
    "millis_to_datetime",
    "pick_first_not_none",
    "reverse_enumerate",
    "safe_copy_dict",
    "sequence_minus",
]

UNKNOWN_HOSTNAME = "<unknown>"


def get_hostname(unknown_hostname: str = UNKNOWN_HOSTNAME) -> str:
    """This host's name, or ``unknown_hostname`` when it cannot be found."""
    try:
        return socket.getfqdn() or socket.gethostname() or unknown_hostname
    except OSError:
        return unknown_hostname


def as_int(obj: Any, quiet: bool = False) -> Any:
    """``obj`` as an ``int`` (through ``float`` if needed); ``TypeError`` unless ``quiet``."""
    for convert in (int, lambda o: int(float(o))):
        try:
            return convert(obj)
        except (ValueError, TypeError):
            pass
    if not quiet:
        raise TypeError(f"Can not translate {obj!r} ({type(obj)}) to an integer")
    return obj


def binary_encode(text: str | bytes, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``text`` as bytes (bytes are returned unchanged)."""
    if isinstance(text, bytes):
        return text
    if not isinstance(text, str):
        raise TypeError(f"Expected str or bytes, got {type(text).__name__}")
    return text.encode(encoding, errors)


def binary_decode(data: str | bytes, encoding: str = "utf-8", errors: str = "strict") -> str:
    """``data`` as text (text is returned unchanged)."""
    if isinstance(data, str):
        return data
    if not isinstance(data, bytes):
        raise TypeError(f"Expected str or bytes, got {type(data).__name__}")
    return data.decode(encoding, errors)


def decode_json(raw_data: str | bytes, root_types: tuple[type, ...] = (dict,)) -> Any:
    """Parse JSON whose root must be one of ``root_types`` (``ValueError`` otherwise)."""
    data = json.loads(binary_decode(raw_data))
    if root_types and not isinstance(data, root_types):
        names = ", ".join(t.__name__ for t in root_types)
        raise ValueError(f"Expected JSON root of type {names}, got {type(data).__name__}")
    return data


def get_version_string(obj: Any) -> str | None:
    """``obj.version`` as a string (``(1, 0)`` -> ``'1.0'``), or ``None``."""
    return version_text(getattr(obj, "version", None))


def clamp(value: float, minimum: float, maximum: float, on_clamped: Any = None) -> float:
    """``value`` limited to ``[minimum, maximum]``; ``on_clamped()`` is called when it was."""
    if minimum > maximum:
        raise ValueError(f"minimum {minimum} is greater than maximum {maximum}")
    clamped = min(max(value, minimum), maximum)
    if clamped != value and on_clamped is not None:
        on_clamped()
    return clamped


def countdown_iter(start_at: int, decr: int = 1) -> Iterator[int]:
    """``start_at, start_at - decr, ...`` while positive."""
    if decr <= 0:
        raise ValueError(f"decrement value must be greater than zero, got {decr}")
    while start_at > 0:
        yield start_at
        start_at -= decr


def reverse_enumerate(items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
    """``enumerate(items)`` from the last item to the first."""
    for i in range(len(items) - 1, -1, -1):
        yield i, items[i]


def sequence_minus(seq1: Iterable[Any], seq2: Iterable[Any]) -> list[Any]:
    """The items of ``seq1`` not in ``seq2``, in order (one removal per item of ``seq2``)."""
    result = list(seq1)
    for item in seq2:
        with contextlib.suppress(ValueError):
            result.remove(item)
    return result


def pick_first_not_none(*values: Any) -> Any:
    """The first value that is not ``None`` (or ``None``)."""
    return next((v for v in values if v is not None), None)


def is_iterable(obj: Any) -> bool:
    """Whether ``obj`` is iterable and not a string."""
    if isinstance(obj, (str, bytes)):
        return False
    try:
        iter(obj)
    except TypeError:
        return False
    return True


def safe_copy_dict(obj: Any) -> dict[Any, Any]:
    """A shallow copy of a mapping (``{}`` for ``None``)."""
    return {} if obj is None else dict(obj)


def millis_to_datetime(milliseconds: float) -> datetime.datetime:
    """A UTC-less ``datetime`` from milliseconds since the epoch."""
    return datetime.datetime.fromtimestamp(float(milliseconds) / 1000)


@contextlib.contextmanager
def capture_failure() -> Iterator[Any]:
    """Yield a ``Failure`` of the exception being handled (``RuntimeError`` if none)."""
    from greenflow.failure import Failure

    exc_info = sys.exc_info()
    if exc_info[1] is None:
        raise RuntimeError("No active exception is being handled")
    yield Failure(exc_info=exc_info)

"""The messages engines and workers exchange: JSON objects with a version and a checked schema.

Three kinds, told apart by ``type``:

* ``request`` (engine to worker): ``id``, ``task`` (``"module:QualName"`` of the
  task class), ``name`` (the atom's name), ``action`` (``"execute"`` or
  ``"revert"``), ``arguments`` (a JSON object); a revert also carries
  ``result`` (what execute returned) or ``result_failure`` (the failure dict
  it raised), and ``failures`` (``{atom name: failure dict}``);
* ``response`` (worker to engine): ``id``, ``state`` (``"SUCCESS"`` or
  ``"FAILURE"``) and ``result`` or ``failure`` (a ``Failure.to_dict()``);
* ``progress`` (worker to engine): ``id``, ``progress`` (0.0 to 1.0).

Every message has ``version`` (:data:`PROTOCOL_VERSION`). Parsing checks each
field and raises :class:`~greenflow.exceptions.ProtocolError` naming the first
one at fault; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from greenflow.exceptions import InvalidOptionError, ProtocolError
from greenflow.failure import Failure

__all__ = [
    "MAX_ID_LENGTH",
    "PROTOCOL_VERSION",
    "Progress",
    "Request",
    "Response",
    "dumps_json",
    "parse_message",
    "task_path",
]

#: Version of every message; a worker refuses any other.
PROTOCOL_VERSION: Final = 1

#: Longest message id accepted (ids are uuid hex; a hostile one must not fill the logs).
MAX_ID_LENGTH: Final = 256

EXECUTE: Final = "execute"
REVERT: Final = "revert"
SUCCESS: Final = "SUCCESS"
FAILURE: Final = "FAILURE"


def task_path(task_class: type) -> str:
    """``"module:QualName"`` of a task class, the name requests and workers use for it."""
    return f"{task_class.__module__}:{task_class.__qualname__}"


def dumps_json(value: Any) -> str:
    """Strict JSON text of ``value``: ``TypeError``/``ValueError`` for anything JSON cannot hold.

    kombu's own JSON encoder quietly turns dates, UUIDs and decimals into tagged
    objects; checking with the standard encoder first keeps the wire plain JSON.
    """
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Request:
    """Run ``action`` of task class ``task`` as atom ``name`` with ``arguments``."""

    id: str
    task: str
    name: str
    action: str
    arguments: dict[str, Any]
    result: Any = None
    result_failure: dict[str, Any] | None = None
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The message body (a JSON object)."""
        body: dict[str, Any] = {
            "version": PROTOCOL_VERSION,
            "type": "request",
            "id": self.id,
            "task": self.task,
            "name": self.name,
            "action": self.action,
            "arguments": self.arguments,
        }
        if self.action == REVERT:
            body["result"] = self.result
            body["result_failure"] = self.result_failure
            body["failures"] = self.failures
        return body


@dataclass(frozen=True, slots=True)
class Response:
    """The outcome of request ``id``: ``result`` on SUCCESS, ``failure`` on FAILURE."""

    id: str
    state: str
    result: Any = None
    failure: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The message body (a JSON object)."""
        body: dict[str, Any] = {"version": PROTOCOL_VERSION, "type": "response", "id": self.id}
        body["state"] = self.state
        if self.state == SUCCESS:
            body["result"] = self.result
        else:
            body["failure"] = self.failure
        return body


@dataclass(frozen=True, slots=True)
class Progress:
    """Progress reported by the task running request ``id``."""

    id: str
    progress: float

    def to_dict(self) -> dict[str, Any]:
        """The message body (a JSON object)."""
        return {"version": PROTOCOL_VERSION, "type": "progress", "id": self.id, "progress": self.progress}


def _field(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    if name not in body:
        raise ProtocolError(f"message field {name!r} is missing (expected {what})", field=name)
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ProtocolError(
            f"message field {name!r} must be {what}, got {type(value).__name__} {value!r:.80}", field=name
        )
    return value


def _text(body: Mapping[str, Any], name: str) -> str:
    value: str = _field(body, name, str, "a non-empty string")
    if not value:
        raise ProtocolError(f"message field {name!r} must be a non-empty string, got ''", field=name)
    return value


def _failure_dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(
            f"message field {name!r} must be a failure dict, got {type(value).__name__}", field=name
        )
    try:
        Failure.from_dict(value)
    except InvalidOptionError as exc:
        raise ProtocolError(
            f"message field {name!r:.80} is not a valid failure dict: {exc!s:.300}", field=name
        ) from exc
    return value


def parse_message(body: Any) -> Request | Response | Progress:
    """Check a decoded message body and return it as a value; ``ProtocolError`` names the bad field."""
    if not isinstance(body, dict):
        raise ProtocolError(f"a message must be a JSON object, got {type(body).__name__}", field="<body>")
    version = _field(body, "version", int, f"the integer {PROTOCOL_VERSION}")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"message field 'version' is {version}, this side speaks version {PROTOCOL_VERSION}",
            field="version",
        )
    kind = _text(body, "type")
    msg_id = _text(body, "id")
    if len(msg_id) > MAX_ID_LENGTH:
        raise ProtocolError(
            f"message field 'id' must be at most {MAX_ID_LENGTH} characters, "
            f"got {len(msg_id)}: {msg_id!r:.40}",
            field="id",
        )
    if kind == "request":
        action = _text(body, "action")
        if action not in (EXECUTE, REVERT):
            raise ProtocolError(
                f"message field 'action' must be 'execute' or 'revert', got {action!r:.80}", field="action"
            )
        task = _text(body, "task")
        module, sep, qualname = task.partition(":")
        if not sep or not module or not qualname:
            raise ProtocolError(
                f"message field 'task' must be 'module:QualName', got {task!r:.200}", field="task"
            )
        request = Request(
            id=msg_id,
            task=task,
            name=_text(body, "name"),
            action=action,
            arguments=_field(body, "arguments", dict, "a JSON object"),
        )
        if action == EXECUTE:
            return request
        result_failure = body.get("result_failure")
        failures = _field(body, "failures", dict, "a JSON object of failure dicts")
        return Request(
            id=request.id,
            task=request.task,
            name=request.name,
            action=request.action,
            arguments=request.arguments,
            result=body.get("result"),
            result_failure=None
            if result_failure is None
            else _failure_dict(result_failure, "result_failure"),
            failures={str(k): _failure_dict(v, f"failures.{k}") for k, v in failures.items()},
        )
    if kind == "response":
        state = _text(body, "state")
        if state == SUCCESS:
            return Response(id=msg_id, state=state, result=body.get("result"))
        if state == FAILURE:
            return Response(id=msg_id, state=state, failure=_failure_dict(body.get("failure"), "failure"))
        raise ProtocolError(
            f"message field 'state' must be 'SUCCESS' or 'FAILURE', got {state!r:.80}", field="state"
        )
    if kind == "progress":
        progress = float(_field(body, "progress", (int, float), "a number from 0.0 to 1.0"))
        if not math.isfinite(progress) or not 0.0 <= progress <= 1.0:
            raise ProtocolError(
                f"message field 'progress' must be from 0.0 to 1.0, got {progress!r:.80}", field="progress"
            )
        return Progress(id=msg_id, progress=progress)
    raise ProtocolError(
        f"message field 'type' must be 'request', 'response' or 'progress', got {kind!r:.80}", field="type"
    )

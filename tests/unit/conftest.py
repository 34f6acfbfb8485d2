"""Test doubles of the engine behaviour suite: recording tasks and a capturing listener.

They are given to tests as fixtures (``calls``, ``step``, ``listen``) so that the
test modules need no import path of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from greenflow import Task
from greenflow.notifier import ANY

_OWN_NAME = object()


class Step(Task):
    """A task that records each call in a shared list and returns (or raises) what it is told.

    ``execute`` appends ``("execute", name)`` and returns ``value`` (default: the
    task's name); ``fail=True`` makes every execution raise ``error``, ``fail=n``
    only the first ``n``. ``revert`` appends ``("revert", name)`` and raises
    ``error`` when ``fail_revert`` is set. What each call received is kept in
    ``received`` (execute keyword arguments) and ``reverts`` (``(result, flow_failures)``).
    """

    def __init__(
        self,
        name: str,
        calls: list[tuple[str, str]],
        *,
        value: Any = _OWN_NAME,
        fail: bool | int = False,
        fail_revert: bool = False,
        error: type[Exception] = RuntimeError,
        **options: Any,
    ) -> None:
        super().__init__(name, **options)
        self.calls = calls
        self.value = name if value is _OWN_NAME else value
        self._always_fails = fail is True
        self._fails_left = 0 if isinstance(fail, bool) else fail
        self.fail_revert = fail_revert
        self.error = error
        self.received: list[dict[str, Any]] = []
        self.reverts: list[tuple[Any, dict[str, Any]]] = []

    def execute(self, **kwargs: Any) -> Any:
        self.calls.append(("execute", self.name))
        self.received.append(kwargs)
        if self._always_fails or self._fails_left > 0:
            self._fails_left -= 1
            raise self.error(f"{self.name} failed")
        return self.value

    def revert(self, result: Any, flow_failures: dict[str, Any], **kwargs: Any) -> None:
        self.calls.append(("revert", self.name))
        self.reverts.append((result, flow_failures))
        if self.fail_revert:
            raise self.error(f"{self.name} revert failed")


class Events:
    """Every notification of one engine, in the order they were sent."""

    def __init__(self) -> None:
        self.flow: list[str] = []  # flow states
        self.flow_details: list[dict[str, Any]] = []
        self.atoms: list[tuple[str, str]] = []  # (atom name, event type)
        self.atom_details: list[tuple[str, dict[str, Any]]] = []  # (event type, details)

    def on_flow(self, event_type: str, details: dict[str, Any]) -> None:
        self.flow.append(event_type)
        self.flow_details.append(details)

    def on_atom(self, event_type: str, details: dict[str, Any]) -> None:
        name = details.get("task_name") or details.get("retry_name")
        self.atoms.append((name, event_type))
        self.atom_details.append((event_type, details))

    def of(self, name: str) -> list[str]:
        """The event types sent for atom ``name``."""
        return [event for atom, event in self.atoms if atom == name]


@pytest.fixture
def calls() -> list[tuple[str, str]]:
    """The shared call log of the ``step`` tasks of one test."""
    return []


@pytest.fixture
def step(calls: list[tuple[str, str]]) -> Callable[..., Step]:
    """Make a ``Step`` recording into ``calls``: ``step("a", provides="x", fail=True)``."""

    def make(name: str, **options: Any) -> Step:
        return Step(name, calls, **options)

    return make


@pytest.fixture
def listen() -> Callable[[Any], Events]:
    """Register a capturing listener on an engine's notifiers: ``events = listen(engine)``."""

    def attach(engine: Any) -> Events:
        events = Events()
        engine.notifier.register(ANY, events.on_flow)
        engine.atom_notifier.register(ANY, events.on_atom)
        return events

    return attach


@pytest.fixture(autouse=True)
def _never_patched() -> Any:
    """Fail a test that monkey-patched this process (gevent installed is not gevent patched)."""
    yield
    from greenflow.hubs import active_patching

    assert active_patching() is None, (
        "a unit test monkey-patched the test process; run what needs a green hub in a subprocess"
    )

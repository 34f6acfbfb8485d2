"""``taskflow.formatters`` and the logging listeners' masking, as Cinder, Masakari and Octavia use them."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(30)

SECRETS = ("BEGIN-CERT-s3cr3t", "PRIVATE-KEY-s3cr3t", "PASSPHRASE-s3cr3t", "NESTED-PASS-s3cr3t")
MASKED = ("certificate", "private_key", "passphrase")


@pytest.fixture(scope="module", autouse=True)
def _compat_taskflow() -> None:
    import taskflow

    if not getattr(taskflow, "GREENFLOW_COMPAT", False):
        pytest.fail(f"taskflow comes from {taskflow.__file__}, not greenflow's adapter")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        fmt = logging.Formatter("%(levelname)s %(message)s")
        return "\n".join(fmt.format(r) for r in self.records)


@pytest.fixture
def capture() -> Any:
    log = logging.getLogger(f"test.formatters.{os.getpid()}.{id(object())}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    handler = _Capture()
    log.addHandler(handler)
    yield log, handler
    log.removeHandler(handler)


def _octavia_flow(fail: bool) -> Any:
    """A load balancer's TLS data flows from one task into the next, which may fail."""
    from taskflow import task
    from taskflow.patterns import linear_flow

    class GetTLS(task.Task):
        def execute(self, listener_id: str) -> dict[str, Any]:
            return {
                "id": listener_id,
                "certificate": SECRETS[0],
                "pems": [{"private_key": SECRETS[1], "name": "pem-1"}],
                "nested": {"deeper": [{"passphrase": SECRETS[2]}]},
            }

    class Upload(task.Task):
        def execute(self, tls: dict[str, Any], amphora: dict[str, Any]) -> dict[str, Any]:
            if fail:
                raise RuntimeError("amphora unreachable")
            return {"uploaded": tls["id"], "passphrase": amphora["auth"]["passphrase"]}

    return linear_flow.Flow("lb").add(GetTLS("get-tls", provides="tls"), Upload("upload", provides="done"))


@pytest.mark.parametrize("fail", [True, False])
def test_octavia_masking_keeps_nested_secrets_out_of_every_log_record(capture: Any, fail: bool) -> None:
    from taskflow import engines
    from taskflow.listeners import logging as tf_logging

    log, handler = capture
    engine = engines.load(
        _octavia_flow(fail),
        store={"listener_id": "L1", "amphora": {"auth": {"passphrase": SECRETS[3], "user": "amp"}}},
    )
    listener = tf_logging.DynamicLoggingListener(
        engine, log=log, mask_inputs_keys=MASKED, mask_outputs_keys=MASKED
    )
    with listener:
        if fail:
            with pytest.raises(RuntimeError, match="amphora unreachable"):
                engine.run()
        else:
            engine.run()
    text = handler.text()
    assert "'get-tls'" in text and "'upload'" in text
    for secret in SECRETS:
        assert secret not in text
    assert "***" in text
    if fail:
        # The formatter showed the predecessor's arguments and (masked) result.
        assert "1 predecessors (most recent first):" in text
        assert "Atom 'get-tls'" in text and "'listener_id': 'L1'" in text and "'name': 'pem-1'" in text
        failed = [r for r in handler.records if r.levelno == logging.WARNING and r.exc_info]
        assert failed and failed[0].exc_info[0] is RuntimeError
    else:
        assert "'uploaded': 'L1'" in text
    # The engine's own results are not changed by masking.
    if not fail:
        assert engine.storage.fetch("tls")["certificate"] == SECRETS[0]


def test_without_masking_the_formatter_shows_the_values(capture: Any) -> None:
    """The test above can fail: unmasked, the secrets do reach the log."""
    from taskflow import engines
    from taskflow.listeners import logging as tf_logging

    log, handler = capture
    engine = engines.load(
        _octavia_flow(True),
        store={"listener_id": "L1", "amphora": {"auth": {"passphrase": "p", "user": "a"}}},
    )
    with tf_logging.DynamicLoggingListener(engine, log=log), pytest.raises(RuntimeError):
        engine.run()
    assert SECRETS[0] in handler.text() and SECRETS[1] in handler.text()


def test_hide_inputs_outputs_of_hides_an_atom_entirely(capture: Any) -> None:
    from taskflow import engines
    from taskflow.listeners import logging as tf_logging

    log, handler = capture
    engine = engines.load(
        _octavia_flow(True),
        store={"listener_id": "L1", "amphora": {"auth": {"passphrase": "p", "user": "a"}}},
    )
    listener = tf_logging.DynamicLoggingListener(engine, log=log, hide_inputs_outputs_of=["get-tls"])
    with listener, pytest.raises(RuntimeError):
        engine.run()
    text = handler.text()
    assert "Atom 'get-tls' {'intention': 'EXECUTE', 'state': 'SUCCESS'}" in text
    for secret in SECRETS[:3]:
        assert secret not in text


def test_cinder_style_formatter_subclass(capture: Any) -> None:
    """Cinder's SpecialFormatter: expected errors log without a traceback, others as the base does."""
    from taskflow import engines, formatters, task
    from taskflow.listeners import base
    from taskflow.listeners import logging as logging_listener
    from taskflow.patterns import linear_flow

    class InvalidInput(Exception):
        pass

    class SpecialFormatter(formatters.FailureFormatter):
        _NO_TRACE_EXCEPTIONS = (InvalidInput,)

        def __init__(self, engine: Any, hide_inputs_outputs_of: Any = ()) -> None:
            super().__init__(engine, hide_inputs_outputs_of)

        def format(self, fail: Any, atom_matcher: Any) -> Any:
            if fail.check(*self._NO_TRACE_EXCEPTIONS) is not None:
                return (None, f"{os.linesep}{fail.pformat(traceback=False)}")
            return super().format(fail, atom_matcher)

    class DynamicLogListener(logging_listener.DynamicLoggingListener):
        def __init__(
            self,
            engine: Any,
            task_listen_for: Any = base.DEFAULT_LISTEN_FOR,
            flow_listen_for: Any = base.DEFAULT_LISTEN_FOR,
            retry_listen_for: Any = base.DEFAULT_LISTEN_FOR,
            logger: Any = None,
        ) -> None:
            super().__init__(
                engine,
                task_listen_for=task_listen_for,
                flow_listen_for=flow_listen_for,
                retry_listen_for=retry_listen_for,
                log=logger,
                fail_formatter=SpecialFormatter(engine),
            )

    class Quota(task.Task):
        def execute(self, size: int) -> None:
            raise InvalidInput(f"size {size} is over quota")

    class Reserve(task.Task):
        def execute(self) -> int:
            return 10

    log, handler = capture
    flow = linear_flow.Flow("create_volume").add(Reserve("reserve", provides="size"), Quota("quota"))
    engine = engines.load(flow)
    with DynamicLogListener(engine, logger=log), pytest.raises(InvalidInput):
        engine.run()
    failed = [
        r for r in handler.records if "'quota'" in r.getMessage() and "into state 'FAILURE'" in r.getMessage()
    ]
    assert len(failed) == 1
    assert failed[0].levelno == logging.WARNING and failed[0].exc_info is None
    assert "InvalidInput: size 10 is over quota" in failed[0].getMessage()

    # A different error goes through the base formatter: traceback and predecessors.
    class Boom(task.Task):
        def execute(self, size: int) -> None:
            raise RuntimeError("boom")

    handler.records.clear()
    engine = engines.load(linear_flow.Flow("v2").add(Reserve("reserve", provides="size"), Boom("boom")))
    with DynamicLogListener(engine, logger=log), pytest.raises(RuntimeError):
        engine.run()
    failed = [
        r for r in handler.records if "'boom'" in r.getMessage() and "into state 'FAILURE'" in r.getMessage()
    ]
    assert failed[0].exc_info is not None and failed[0].exc_info[0] is RuntimeError
    assert "Atom 'reserve' {'intention': 'EXECUTE', 'state': 'SUCCESS', 'requires': {}, 'provides': 10}" in (
        failed[0].getMessage()
    )


def test_formatter_returns_exc_info_and_details_before_compiling() -> None:
    from taskflow import engines, formatters
    from taskflow.types import failure

    engine = engines.load(_octavia_flow(True), store={"listener_id": "L1", "amphora": {}})
    try:
        raise ValueError("early")
    except ValueError:
        fail = failure.Failure()
    exc_info, details = formatters.FailureFormatter(engine).format(fail, lambda node: False)
    assert exc_info[0] is ValueError and details == ""


def test_logging_listener_masks_results_too(capture: Any) -> None:
    from taskflow import engines
    from taskflow.listeners import logging as tf_logging

    log, handler = capture
    engine = engines.load(
        _octavia_flow(False), store={"listener_id": "L1", "amphora": {"auth": {"passphrase": "x"}}}
    )
    with tf_logging.LoggingListener(engine, log=log, mask_outputs_keys=MASKED):
        engine.run()
    text = handler.text()
    assert "'get-tls'" in text and "***" in text
    for secret in SECRETS[:3]:
        assert secret not in text


def test_bad_fail_formatter_is_refused() -> None:
    from taskflow import engines
    from taskflow.listeners import logging as tf_logging

    from greenflow import exceptions

    engine = engines.load(_octavia_flow(False), store={"listener_id": "L1", "amphora": {}})
    with pytest.raises(exceptions.InvalidOptionError, match="fail_formatter must have a format"):
        tf_logging.DynamicLoggingListener(engine, fail_formatter=object())


def test_core_mask_keys_is_recursive_and_copies() -> None:
    from greenflow.listeners import mask_keys

    data = {"a": [{"private_key": "k", "b": ({"passphrase": "p"},)}], "certificate": {"x": 1}}
    assert mask_keys(data, MASKED) == {
        "a": [{"private_key": "***", "b": ({"passphrase": "***"},)}],
        "certificate": "***",
    }
    assert data["certificate"] == {"x": 1}

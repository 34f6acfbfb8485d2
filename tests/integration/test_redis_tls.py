"""The Redis jobboard over TLS, against a private redis-server that speaks TLS only and wants a client
certificate and a password (the options Octavia's jobboard configuration passes: ``ssl``, ``ssl_ca_certs``,
``ssl_certfile``, ``ssl_keyfile``, ``password``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import redis_tls

from greenflow.exceptions import JobError
from greenflow.jobs import jobboard

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis_tls.TlsRedis]:
    reason = redis_tls.problem()
    if reason is not None:
        pytest.skip(reason)
    proc, server = redis_tls.start(Path(tmp_path_factory.mktemp("redis-tls")))
    try:
        yield server
    finally:
        proc.kill()
        proc.wait(10)


def _conf(server: redis_tls.TlsRedis, **changes: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "board": "redis",
        "host": "127.0.0.1",
        "port": server.port,
        "password": redis_tls.PASSWORD,
        "ssl": True,
        "ssl_ca_certs": str(server.pki.ca),
        "ssl_certfile": str(server.pki.client_cert),
        "ssl_keyfile": str(server.pki.client_key),
        "namespace": "tls-test",
        "socket_timeout": 5,
    }
    conf.update(changes)
    return {k: v for k, v in conf.items() if v is not None}


def _round_trip(board: Any) -> None:
    job = board.post("over-tls", details={"store": {"x": 1}})
    claim = board.claim(job, "me", expiry=5)
    assert board.verify(claim)
    assert [j.name for j in board.iterjobs()] == ["over-tls"]
    board.consume(job, "me", claim=claim)
    assert board.job_count == 0


def test_a_board_configured_by_dict_works_over_mutual_tls(tls_server: redis_tls.TlsRedis) -> None:
    with jobboard("tls", _conf(tls_server)) as board:
        _round_trip(board)


def test_a_rediss_url_carries_the_tls_options(tls_server: redis_tls.TlsRedis) -> None:
    url = (
        f"rediss://:{redis_tls.PASSWORD}@127.0.0.1:{tls_server.port}/0?namespace=tls-url"
        f"&ssl_ca_certs={tls_server.pki.ca}&ssl_certfile={tls_server.pki.client_cert}"
        f"&ssl_keyfile={tls_server.pki.client_key}"
    )
    with jobboard("tls-url", url) as board:
        _round_trip(board)


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"ssl_ca_certs": "other"}, "a server certificate no trusted CA signed"),
        ({"ssl_certfile": None, "ssl_keyfile": None}, "no client certificate"),
        ({"ssl": False}, "plain TCP to a TLS-only port"),
        ({"password": "wrong-password"}, "a wrong password"),
    ],
)
def test_a_refused_tls_connection_is_a_clear_job_error_without_the_password(
    tls_server: redis_tls.TlsRedis, changes: dict[str, Any], why: str
) -> None:
    if changes.get("ssl_ca_certs") == "other":
        changes = {**changes, "ssl_ca_certs": str(tls_server.pki.other_ca)}
    with pytest.raises(JobError) as caught, jobboard("tls-bad", _conf(tls_server, **changes)) as board:
        board.post("never")
    message = str(caught.value)
    assert f"127.0.0.1:{tls_server.port}" in message or "tls-bad" in message, (why, message)
    assert redis_tls.PASSWORD not in message and "wrong-password" not in message, (why, message)

"""The etcd jobboard over TLS, against a private etcd (Debian's etcd-server) that serves https only and
wants a client certificate signed by its CA (the board's ``protocol``, ``ca_cert``, ``cert_cert``,
``cert_key`` options, as Octavia's jobboard configuration passes them)."""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import tls
from support.zookeeper_server import free_port

from greenflow.exceptions import JobError
from greenflow.jobs import jobboard

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def tls_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, tls.Pki]]:
    reason = tls.problem() or (
        None if shutil.which("etcd") else "no etcd server: install Debian's etcd-server"
    )
    if reason is not None:
        pytest.skip(reason)
    folder = Path(tmp_path_factory.mktemp("etcd-tls"))
    pki = tls.make(folder)
    client, peer = free_port(), free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        ["etcd", "--data-dir", str(folder / "data"),
         "--listen-client-urls", f"https://127.0.0.1:{client}",
         "--advertise-client-urls", f"https://127.0.0.1:{client}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"default=http://127.0.0.1:{peer}",
         "--cert-file", str(pki.server_cert), "--key-file", str(pki.server_key),
         "--trusted-ca-file", str(pki.ca), "--client-cert-auth"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:  # the server itself, not the board under test: a board bug must fail, not skip
                context = ssl.create_default_context(cafile=str(pki.ca))
                context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
                probe = http.client.HTTPSConnection("127.0.0.1", client, timeout=2, context=context)
                probe.request("GET", "/version")
                probe.getresponse().read()
                probe.close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"the private etcd server with TLS did not start; see {folder}/server.log")
                time.sleep(0.3)
        yield client, pki
    finally:
        proc.kill()
        proc.wait(10)
        log.close()


def _conf(port: int, pki: tls.Pki, **changes: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "board": "etcd",
        "host": "127.0.0.1",
        "port": port,
        "protocol": "https",
        "ca_cert": str(pki.ca),
        "cert_cert": str(pki.client_cert),
        "cert_key": str(pki.client_key),
        "path": "/tls-test",
        "timeout": 5,
    }
    conf.update(changes)
    return {k: v for k, v in conf.items() if v is not None}


@pytest.mark.parametrize("bundle_in_env", [False, True])
def test_a_board_works_over_tls_with_a_client_certificate(
    tls_etcd: tuple[int, tls.Pki], bundle_in_env: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, pki = tls_etcd
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        # A CA bundle in the environment (containers often set one) must not replace the board's.
        if bundle_in_env:
            monkeypatch.setenv(name, str(pki.other_ca))
        else:
            monkeypatch.delenv(name, raising=False)
    with jobboard("etcd-tls", _conf(port, pki)) as board:
        job = board.post("over-tls", details={"store": {"x": 1}})
        claim = board.claim(job, "me", expiry=5)
        assert board.verify(claim) and board.extend_many([claim], 5) == [True]
        board.consume(job, "me", claim=claim)
        assert board.job_count == 0


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"ca_cert": "other"}, "a server certificate no trusted CA signed"),
        ({"cert_cert": None, "cert_key": None}, "no client certificate"),
        ({"protocol": "http"}, "plain HTTP to an https-only port"),
    ],
)
def test_a_refused_tls_connection_is_a_clear_job_error(
    tls_etcd: tuple[int, tls.Pki], changes: dict[str, Any], why: str
) -> None:
    port, pki = tls_etcd
    if changes.get("ca_cert") == "other":
        changes = {**changes, "ca_cert": str(pki.other_ca)}
    with pytest.raises(JobError) as caught, jobboard("etcd-tls-bad", _conf(port, pki, **changes)) as board:
        board.post("never")
    assert "etcd-tls-bad" in str(caught.value) or f"127.0.0.1:{port}" in str(caught.value), (
        why,
        caught.value,
    )

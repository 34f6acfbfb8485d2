"""ZooKeeper and etcd servers for the jobboard tests: ``zookeeper_hosts``, ``zookeeper_board_url``,
``etcd_address`` and ``etcd_board_url``."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import uuid
from collections.abc import Iterator

import pytest

from support.zookeeper_server import (
    ZooKeeperUnavailable,
    free_port,
    private_zookeeper,
    zookeeper_reachable,
)

ZOOKEEPER_URL = os.environ.get("GREENFLOW_TEST_ZOOKEEPER_URL", "")


@pytest.fixture(scope="session")
def zookeeper_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a ZooKeeper server for this session.

    ``GREENFLOW_TEST_ZOOKEEPER_URL`` (``zookeeper://h:p``) names one to use;
    otherwise a private standalone server is started from Debian's
    ``zookeeper`` jars on a free port with a temporary data directory, and
    stopped at the end. Skips, saying why, when neither is possible.
    """
    if importlib.util.find_spec("kazoo") is None:
        pytest.skip("kazoo is not installed (pip install greenflow[zookeeper])")
    if ZOOKEEPER_URL:
        hosts = ZOOKEEPER_URL.partition("://")[2].partition("/")[0]
        problem = zookeeper_reachable(hosts)
        if problem:
            pytest.skip(f"ZooKeeper at {hosts} (GREENFLOW_TEST_ZOOKEEPER_URL) is unreachable: {problem}")
        yield hosts
        return
    with contextlib.ExitStack() as stack:
        try:
            hosts = stack.enter_context(private_zookeeper(tmp_path_factory.mktemp("zookeeper")))
        except ZooKeeperUnavailable as exc:
            pytest.skip(str(exc))
        yield hosts


@pytest.fixture
def zookeeper_board_url(zookeeper_hosts: str) -> str:
    """A jobboard URL on the session's ZooKeeper under a path of its own."""
    return f"zookeeper://{zookeeper_hosts}/greenflow-test/{uuid.uuid4().hex[:12]}?timeout=5"


ETCD_URL = os.environ.get("GREENFLOW_TEST_ETCD_URL", "")


def _etcd_reachable(host: str, port: int, timeout: float = 2.0) -> str | None:
    """``None`` when etcd answers its ``/version`` at ``host:port``; else why not."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{host}:{port}/version", timeout=timeout) as reply:
            body = reply.read(200)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if b"etcdserver" in body else f"unexpected reply {body[:40]!r}"


@pytest.fixture(scope="session")
def etcd_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of an etcd server for this session.

    ``GREENFLOW_TEST_ETCD_URL`` (``etcd://h:p``) names one; otherwise a private
    ``etcd`` (Debian's ``etcd-server``) is started on free ports with a temporary
    data directory and stopped at the end. Skips, saying why, when neither is possible.
    """
    if importlib.util.find_spec("etcd3gw") is None:
        pytest.skip("etcd3gw is not installed (pip install greenflow[etcd])")
    if ETCD_URL:
        address = ETCD_URL.partition("://")[2].partition("/")[0]
        host, _, port = address.rpartition(":")
        problem = _etcd_reachable(host, int(port))
        if problem:
            pytest.skip(f"etcd at {address} (GREENFLOW_TEST_ETCD_URL) is unreachable: {problem}")
        yield address
        return
    import shutil
    import subprocess
    import time

    if shutil.which("etcd") is None:
        pytest.skip("no etcd server: install Debian's etcd-server package")
    client, peer = free_port(), free_port()
    data = tmp_path_factory.mktemp("etcd")
    log = open(data / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            "etcd",
            "--data-dir",
            str(data / "data"),
            "--listen-client-urls",
            f"http://127.0.0.1:{client}",
            "--advertise-client-urls",
            f"http://127.0.0.1:{client}",
            "--listen-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-cluster",
            f"default=http://127.0.0.1:{peer}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while (problem := _etcd_reachable("127.0.0.1", client, 0.5)) is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"the private etcd server did not start ({problem}); see {data}/server.log")
            time.sleep(0.2)
        yield f"127.0.0.1:{client}"
    finally:
        proc.kill()
        proc.wait(10)
        log.close()


@pytest.fixture
def etcd_board_url(etcd_address: str) -> str:
    """A jobboard URL on the session's etcd under a path of its own."""
    return f"etcd://{etcd_address}/greenflow-test/{uuid.uuid4().hex[:12]}?timeout=5"

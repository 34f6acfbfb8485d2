"""ZooKeeper and etcd servers for the jobboard tests: ``zookeeper_hosts``, ``zookeeper_board_url``,
``etcd_address`` and ``etcd_board_url``."""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator

import pytest

ZOOKEEPER_URL = os.environ.get("GREENFLOW_TEST_ZOOKEEPER_URL", "")
_ZOOKEEPER_JARS = ("/usr/share/java/zookeeper.jar", "/usr/share/java/zookeeper-jute.jar")


def _zookeeper_reachable(hosts: str, timeout: float = 2.0) -> str | None:
    """``None`` when the first of ``hosts`` answers ZooKeeper's ``srvr``; else why not."""
    import socket

    host, _, port = hosts.split(",", 1)[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 2181)), timeout=timeout) as s:
            s.sendall(b"srvr")
            reply = s.recv(64)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if reply.startswith(b"Zookeeper version") else f"unexpected reply {reply[:40]!r}"


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
        problem = _zookeeper_reachable(hosts)
        if problem:
            pytest.skip(f"ZooKeeper at {hosts} (GREENFLOW_TEST_ZOOKEEPER_URL) is unreachable: {problem}")
        yield hosts
        return
    import shutil
    import socket
    import subprocess
    import time

    missing = [jar for jar in _ZOOKEEPER_JARS if not os.path.exists(jar)]
    if missing or shutil.which("java") is None:
        pytest.skip(f"no ZooKeeper server: install Debian's zookeeper package (missing {missing or 'java'})")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = tmp_path_factory.mktemp("zookeeper")
    log = open(data / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            "java",
            "-Xmx256m",
            "-Dzookeeper.admin.enableServer=false",
            "-Dzookeeper.4lw.commands.whitelist=srvr,ruok",
            "-cp",
            ":".join(_ZOOKEEPER_JARS),
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            str(port),
            str(data),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    hosts = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while (problem := _zookeeper_reachable(hosts, 0.5)) is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"the private ZooKeeper server did not start ({problem}); see {data}/server.log")
            time.sleep(0.2)
        yield hosts
    finally:
        proc.kill()
        proc.wait(10)
        log.close()


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
    client, peer = _free_port(), _free_port()
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

"""A ZooKeeper server for the jobboard tests: the fixtures ``zookeeper_hosts`` and ``zookeeper_board_url``."""

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

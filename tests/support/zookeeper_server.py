"""A private standalone ZooKeeper server from Debian's ``zookeeper`` jars (no pytest needed).

The jobboard tests (``coordination_servers.zookeeper_hosts``) and the TaskFlow
suite runner (``tests/taskflow_suite/run.py``) both start one with
:func:`private_zookeeper`: ``java ... ZooKeeperServerMain PORT DATADIR`` with a
fresh data directory, waited for until it answers ``srvr``, killed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "JARS",
    "ZooKeeperUnavailable",
    "free_port",
    "port_in_use",
    "private_zookeeper",
    "unavailable",
    "zookeeper_reachable",
]

JARS = ("/usr/share/java/zookeeper.jar", "/usr/share/java/zookeeper-jute.jar")
START_TIMEOUT = 30.0


class ZooKeeperUnavailable(RuntimeError):
    """Raised by :func:`private_zookeeper` when its server cannot be started; the message says why."""


def unavailable() -> str | None:
    """Why no private server can be started here (Debian's jars or Java missing), or ``None``."""
    missing = [jar for jar in JARS if not os.path.exists(jar)]
    if shutil.which("java") is None:
        missing.append("java")
    if missing:
        return f"no ZooKeeper server: install Debian's zookeeper package (missing {', '.join(missing)})"
    return None


def zookeeper_reachable(hosts: str, timeout: float = 2.0) -> str | None:
    """``None`` when the first of ``hosts`` answers ZooKeeper's ``srvr``; else why not."""
    host, _, port = hosts.split(",", 1)[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 2181)), timeout=timeout) as s:
            s.sendall(b"srvr")
            reply = s.recv(64)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if reply.startswith(b"Zookeeper version") else f"unexpected reply {reply[:40]!r}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether something accepts connections on ``127.0.0.1:port``."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1.0):
        return True
    return False


@contextlib.contextmanager
def private_zookeeper(data_dir: Path, port: int | None = None) -> Iterator[str]:
    """Run a standalone server on ``port`` (a free one by default) storing in ``data_dir``.

    Yields its ``host:port``; kills it when the block ends. Raises
    ``ZooKeeperUnavailable`` when the jars or Java are missing, the port is
    taken, or the server does not answer within ``START_TIMEOUT`` seconds
    (its log is ``data_dir/server.log``).
    """
    problem = unavailable()
    if problem:
        raise ZooKeeperUnavailable(problem)
    if port is None:
        port = free_port()
    elif port_in_use(port):
        raise ZooKeeperUnavailable(f"port {port} on 127.0.0.1 is already in use")
    data_dir.mkdir(parents=True, exist_ok=True)
    hosts = f"127.0.0.1:{port}"
    with open(data_dir / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [
                "java",
                "-Xmx256m",
                "-Dzookeeper.admin.enableServer=false",
                "-Dzookeeper.4lw.commands.whitelist=srvr,ruok,envi",
                "-cp",
                ":".join(JARS),
                "org.apache.zookeeper.server.ZooKeeperServerMain",
                str(port),
                str(data_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while (problem := zookeeper_reachable(hosts, 0.5)) is not None:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ZooKeeperUnavailable(
                        f"the private ZooKeeper server on {hosts} did not start ({problem}); "
                        f"see {data_dir}/server.log"
                    )
                time.sleep(0.2)
            yield hosts
        finally:
            proc.kill()
            proc.wait(10)

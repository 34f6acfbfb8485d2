"""A private Redis server speaking TLS only, with a certificate authority of its own (jobboard TLS tests).

``support.tls`` makes a CA, a server certificate for 127.0.0.1 and a client
certificate, each signed by the CA; ``redis-server`` (Debian's build has TLS)
listens on a free port with ``--port 0`` (no plain TCP), asks clients for a
certificate (``--tls-auth-clients``) and a password.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from support import tls
from support.zookeeper_server import free_port

PASSWORD = "tls-s3cret"


@dataclass
class TlsRedis:
    """Where the server listens, and its certificate authority's files (``pki.client_cert``...)."""

    port: int
    pki: tls.Pki


def problem() -> str | None:
    """Why a TLS Redis cannot be started here, or ``None``."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    return tls.problem()


def start(folder: Path) -> tuple[subprocess.Popen[bytes], TlsRedis]:
    """Start the server (the caller stops it); returns once it accepts connections."""
    pki = tls.make(folder)
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(pki.server_cert), "--tls-key-file", str(pki.server_key),
         "--tls-ca-cert-file", str(pki.ca), "--tls-auth-clients", "yes",
         "--requirepass", PASSWORD, "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"redis-server with TLS did not start on port {port}") from None
            time.sleep(0.1)
    return proc, TlsRedis(port, pki)

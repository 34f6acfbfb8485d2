"""A private Redis server speaking TLS only, with a certificate authority of its own (jobboard TLS tests).

``openssl`` makes a CA, a server certificate for 127.0.0.1 and a client
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

from support.zookeeper_server import free_port

PASSWORD = "tls-s3cret"


@dataclass
class TlsRedis:
    """Where the server listens and the files a client needs."""

    port: int
    ca: Path
    cert: Path
    key: Path
    other_ca: Path  # a CA that signed nothing the server shows


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(cert))  # fmt: skip
    return key, cert


def _signed(folder: Path, name: str, ca: tuple[Path, Path], san: str | None) -> tuple[Path, Path]:
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(csr))  # fmt: skip
    extra = folder / f"{name}.ext"
    extra.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[1]), "-CAkey", str(ca[0]), "-CAcreateserial",
             "-days", "2", "-extfile", str(extra), "-out", str(cert))  # fmt: skip
    return key, cert


def problem() -> str | None:
    """Why a TLS Redis cannot be started here, or ``None``."""
    for tool in ("redis-server", "openssl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def start(folder: Path) -> tuple[subprocess.Popen[bytes], TlsRedis]:
    """Start the server (the caller stops it); returns once it accepts connections."""
    ca = _ca(folder, "ca")
    _, other_ca = _ca(folder, "other-ca")
    server_key, server_cert = _signed(folder, "server", ca, "IP:127.0.0.1")
    client_key, client_cert = _signed(folder, "client", ca, None)
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(server_cert), "--tls-key-file", str(server_key),
         "--tls-ca-cert-file", str(ca[1]), "--tls-auth-clients", "yes",
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
    return proc, TlsRedis(port, ca[1], client_cert, client_key, other_ca)

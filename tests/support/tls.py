"""A certificate authority of a test's own (``openssl``): a server certificate for 127.0.0.1, a client
certificate, and another CA that signed neither (for the tests' TLS servers: Redis, etcd)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Pki:
    """The files of a test's certificate authority."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing the server shows


def problem() -> str | None:
    """Why certificates cannot be made here, or ``None``."""
    return None if shutil.which("openssl") else "openssl is not installed"


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


def make(folder: Path) -> Pki:
    """Make the CA, the server certificate (for IP 127.0.0.1), the client certificate and the other CA."""
    ca = _ca(folder, "ca")
    _, other_ca = _ca(folder, "other-ca")
    server_key, server_cert = _signed(folder, "server", ca, "IP:127.0.0.1")
    client_key, client_cert = _signed(folder, "client", ca, None)
    return Pki(ca[1], server_cert, server_key, client_cert, client_key, other_ca)

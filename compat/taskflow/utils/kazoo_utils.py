"""``taskflow.utils.kazoo_utils``: building and closing kazoo (ZooKeeper) clients.

TaskFlow programs make one client and hand it to several jobboards and
persistence backends (``client=``); greenflow's ZooKeeper board and backend
start a shared client once and never stop it. A client made here stops itself
when it is closed (``contextlib.closing(client)``, as TaskFlow's examples do),
where kazoo refuses to close a started client. ``kazoo`` is imported when a
client is made, so importing this module never needs it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_compatible", "finalize_client", "make_client"]

_DEFAULT_HOSTS = "localhost:2181"


def _hosts(hosts: Any) -> str:
    if isinstance(hosts, str):
        return hosts.strip()
    if isinstance(hosts, dict):
        hosts = list(hosts)
    return ",".join(str(h) for h in hosts)


def make_client(conf: dict[str, Any]) -> Any:
    """A ``kazoo.client.KazooClient`` configured from TaskFlow's ``conf`` keys (not started)."""
    kwargs: dict[str, Any] = {
        "hosts": _hosts(conf.get("hosts", _DEFAULT_HOSTS)),
        "timeout": float(conf.get("timeout", 10.0)),
        "read_only": bool(conf.get("read_only", False)),
        "randomize_hosts": bool(conf.get("randomize_hosts", False)),
    }
    for key in ("command_retry", "connection_retry", "handler", "keyfile", "keyfile_password",
                "certfile", "ca", "use_ssl", "verify_certs"):  # fmt: skip
        if key in conf:
            kwargs[key] = conf[key]
    return _closing_client_class()(**kwargs)


_CLIENT_CLASS: Any = None


def _closing_client_class() -> Any:
    """``KazooClient`` whose ``close()`` stops the session first (made once, on first use)."""
    global _CLIENT_CLASS
    if _CLIENT_CLASS is None:
        from kazoo import client as k_client

        class KazooClient(k_client.KazooClient):  # type: ignore[misc]
            """kazoo's client; ``close()`` stops a started session instead of raising."""

            def close(self) -> None:
                self.stop()
                super().close()

        _CLIENT_CLASS = KazooClient
    return _CLIENT_CLASS


def finalize_client(client: Any) -> None:
    """Stop and close a client made by :func:`make_client`."""
    client.stop()
    client.close()


def check_compatible(client: Any, min_version: Any = None, max_version: Any = None) -> None:
    """Raise ``IncompatibleVersion`` when the server's version is outside the range."""
    from taskflow import exceptions

    version = tuple(client.server_version())
    if min_version and version < tuple(min_version):
        raise exceptions.IncompatibleVersion(f"zookeeper {version} is older than {tuple(min_version)}")
    if max_version and version > tuple(max_version):
        raise exceptions.IncompatibleVersion(f"zookeeper {version} is newer than {tuple(max_version)}")

"""The kazoo client the ZooKeeper persistence backend and jobboard share: URL, handler, start.

``zookeeper_conf_from_url`` reads ``zookeeper://[user:password@]h1:2181,h2:2181/path?timeout=S``;
``make_client`` builds a client whose handler follows the hub (kazoo's gevent or
eventlet handler under those hubs, its threads otherwise); ``start_client``
starts a client once even when several boards or backends share it and
connect from several threads at once (kazoo's ``start()`` tears down a
connection another thread is making).
"""

from __future__ import annotations

import importlib
import weakref
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

from greenflow.exceptions import InvalidOptionError
from greenflow.hubs import Lock, get_hub
from greenflow.masking import mask_url

__all__ = ["make_client", "start_client", "zookeeper_conf_from_url"]

SCHEMES: Final = ("zookeeper", "zk", "kazoo")

# kazoo handler module:class for each hub that needs its own (threads use kazoo's default).
_HANDLERS: Final = {
    "gevent": "kazoo.handlers.gevent:SequentialGeventHandler",
    "eventlet": "kazoo.handlers.eventlet:SequentialEventletHandler",
}
# One lock per client that several owners share (see the module docstring).
_START_LOCKS: weakref.WeakKeyDictionary[Any, Lock] = weakref.WeakKeyDictionary()


def zookeeper_conf_from_url(url: str) -> dict[str, Any]:
    """A configuration from ``zookeeper://[user:password@]host:port[,host:port]/path?timeout=S``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in SCHEMES:
        raise InvalidOptionError(f"a ZooKeeper URL starts with zookeeper://, got {mask_url(url)!r}")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    conf: dict[str, Any] = {}
    userinfo, at, hosts = netloc.rpartition("@")
    if at:
        conf["auth"] = unquote(userinfo)
    if hosts:
        conf["hosts"] = hosts
    if path.strip("/"):
        conf["path"] = "/" + path.strip("/")
    for key, value in parse_qsl(query, keep_blank_values=True):
        conf[key] = value
    return conf


def make_client(hosts: str, timeout: float, handler: Any, auth: Any, what: str) -> Any:
    """A (not started) ``KazooClient`` for ``what`` (named in errors); ``handler`` or the hub's."""
    try:
        from kazoo.client import KazooClient
    except ImportError as exc:
        raise InvalidOptionError(
            f"{what} needs kazoo ({exc}); install it with: pip install greenflow[zookeeper]"
        ) from exc
    name = handler or get_hub().name
    options: dict[str, Any] = {"hosts": hosts, "timeout": timeout}
    target = _HANDLERS.get(str(name))
    if target is not None:
        module, _, cls = target.partition(":")
        options["handler"] = getattr(importlib.import_module(module), cls)()
    elif name not in ("threading", "threads", "thread"):
        known = ["threading", *_HANDLERS]
        raise InvalidOptionError(f"unknown kazoo handler {name!r} for {what}; known: {known}")
    if auth:
        options["auth_data"] = [("digest", str(auth))]
    return KazooClient(**options)


def start_client(client: Any, timeout: float, shared: bool) -> None:
    """Start ``client``; a ``shared`` one only if no other owner started it already."""
    if not shared:
        client.start(timeout=timeout)
        return
    with _START_LOCKS.setdefault(client, get_hub().Lock()):
        if not client.connected:
            client.start(timeout=timeout)

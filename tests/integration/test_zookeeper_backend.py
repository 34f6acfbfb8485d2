"""What the ZooKeeper persistence backend adds to the contract (run in test_persistence_contract.py):
its configuration, writers racing on one logbook, and a kazoo client shared with others."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from greenflow.exceptions import InvalidOptionError
from greenflow.persistence import FlowDetail, LogBook, TaskDetail, fetch_backend

pytestmark = pytest.mark.timeout(60)


def _path() -> str:
    return f"/greenflow-test/{uuid.uuid4().hex[:12]}"


def test_url_and_taskflow_dict_configurations(zookeeper_hosts: str) -> None:
    from greenflow.persistence._zookeeper import ZooKeeperBackend

    path = _path()
    by_url = fetch_backend(f"zookeeper://{zookeeper_hosts}{path}?timeout=5")
    # TaskFlow's dict: the kind as 'connection', hosts (a string or a list), path, timeout.
    conf = {"connection": "zookeeper", "hosts": [zookeeper_hosts], "path": path, "timeout": 5}
    by_dict = fetch_backend({**conf, "check_compatible": True})
    try:
        assert isinstance(by_url, ZooKeeperBackend) and (by_url.hosts, by_url.path) == (zookeeper_hosts, path)
        assert (by_dict.hosts, by_dict.path, by_dict.timeout) == (zookeeper_hosts, path, 5.0)
        book = LogBook("b")
        conn = by_url.get_connection()
        conn.save_logbook(book)
        session = by_url._client.client_id
        conn.close()  # as TaskFlow's programs do after each use: the session stays open
        assert by_url.get_connection().get_logbook(book.uuid).name == "b"
        assert by_url._client.client_id == session
        assert by_dict.get_connection().get_logbook(book.uuid).name == "b"
        by_dict.get_connection().clear_all()
    finally:
        by_url.close()
        by_dict.close()
    with pytest.raises(InvalidOptionError, match=r"unknown ZooKeeper persistence option\(s\) \['hots'\]"):
        fetch_backend({"connection": "zookeeper", "hots": "x"})
    with pytest.raises(InvalidOptionError, match="path is absolute"):
        fetch_backend({"connection": "zookeeper", "path": "books"})
    with pytest.raises(InvalidOptionError, match="number of seconds"):
        fetch_backend("zookeeper://h:2181/p?timeout=soon")


def test_writers_racing_on_one_logbook_keep_every_flow_detail(zookeeper_hosts: str) -> None:
    """Each save is a version-checked transaction: one that lost the race reads again and merges."""
    url = f"zookeeper://{zookeeper_hosts}{_path()}?timeout=5"
    book = LogBook("shared")
    first = fetch_backend(url)
    first.get_connection().save_logbook(book)
    writers = [fetch_backend(url) for _ in range(4)]
    added: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(writers))

    def write(backend: Any, n: int) -> None:
        try:
            mine = LogBook("shared", uuid=book.uuid)
            for i in range(3):
                flow_detail = FlowDetail(f"flow-{n}-{i}")
                flow_detail.add(TaskDetail(f"task-{n}-{i}"))
                mine.add(flow_detail)
                added.append(flow_detail.uuid)
                if i == 0:
                    start.wait(10)
                backend.get_connection().save_logbook(mine)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b, n)) for n, b in enumerate(writers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors and not any(t.is_alive() for t in threads)
        stored = first.get_connection().get_logbook(book.uuid)
        assert sorted(f.uuid for f in stored) == sorted(added)
        assert all(len(list(f)) == 1 for f in stored)
        first.get_connection().clear_all()
    finally:
        for backend in (first, *writers):
            backend.close()


def test_a_shared_kazoo_client_is_started_once_and_never_stopped(zookeeper_hosts: str) -> None:
    from kazoo.client import KazooClient

    client = KazooClient(hosts=zookeeper_hosts, timeout=5)
    path = _path()
    backends = [fetch_backend({"connection": "zookeeper", "path": path, "client": client}) for _ in range(3)]
    try:
        threads = [threading.Thread(target=b.get_connection().validate) for b in backends]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert client.connected
        book = LogBook("b")
        backends[0].get_connection().save_logbook(book)
        backends[0].close()
        assert client.connected  # not the backend's to stop
        assert backends[1].get_connection().get_logbook(book.uuid).name == "b"
        backends[1].get_connection().clear_all()
    finally:
        for backend in backends:
            backend.close()
        client.stop()
        client.close()

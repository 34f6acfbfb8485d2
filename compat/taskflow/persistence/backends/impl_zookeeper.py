"""``taskflow.persistence.backends.impl_zookeeper``: greenflow's ZooKeeper backend (kazoo).

``ZkBackend(conf, client=None)`` takes TaskFlow's conf (``hosts``, ``path``,
``timeout``; ``check_compatible`` accepted, unused) or a ``zookeeper://`` URL as
``conf['connection']``. Its znode layout is greenflow's, not TaskFlow's: a
store TaskFlow wrote is not read.
"""

from greenflow.persistence._zookeeper import ZooKeeperBackend

#: TaskFlow's name; the backend is its own connection.
ZkBackend = ZooKeeperBackend
ZkConnection = ZooKeeperBackend

__all__ = ["ZkBackend", "ZkConnection"]

"""``taskflow.persistence.backends.impl_zookeeper``: greenflow's ZooKeeper backend (kazoo).

``ZkBackend(conf, client=None)`` takes TaskFlow's conf (``hosts``, ``path``,
``timeout``; ``check_compatible`` accepted, unused) or a ``zookeeper://`` URL as
``conf['connection']``. Its znode layout is greenflow's, not TaskFlow's: a
store TaskFlow wrote is not read.
"""

from greenflow.persistence._zookeeper import ZooKeeperBackend, ZooKeeperConnection

#: The oldest ZooKeeper TaskFlow's backend works with (``(major, minor, patch)``).
MIN_ZK_VERSION = (3, 4, 0)

#: TaskFlow's names.
ZkBackend = ZooKeeperBackend
ZkConnection = ZooKeeperConnection

__all__ = ["MIN_ZK_VERSION", "ZkBackend", "ZkConnection"]

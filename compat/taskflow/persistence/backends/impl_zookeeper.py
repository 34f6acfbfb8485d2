"""Placeholder: the ZooKeeper persistence backend is not available in greenflow."""

from taskflow._unsupported import unsupported

raise unsupported("taskflow.persistence.backends.impl_zookeeper", "ZooKeeper persistence backend")

"""Placeholder: the ZooKeeper jobboard is not available in greenflow (use the Redis jobboard)."""

from taskflow._unsupported import unsupported

raise unsupported("taskflow.jobs.backends.impl_zookeeper", "ZooKeeper jobboard")

"""Placeholder: the worker-based engine is not available in greenflow yet."""

from taskflow._unsupported import unsupported

raise unsupported("taskflow.engines.worker_based", "worker-based engine (taskflow.engines.worker_based)")

"""Placeholder: conductors (taskflow.conductors) is not available in greenflow yet."""

from taskflow._unsupported import unsupported

raise unsupported("taskflow.conductors", "conductors (taskflow.conductors)")

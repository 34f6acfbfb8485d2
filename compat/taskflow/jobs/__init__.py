"""Placeholder: jobs and jobboards (taskflow.jobs) is not available in greenflow yet."""

from taskflow._unsupported import unsupported

raise unsupported("taskflow.jobs", "jobs and jobboards (taskflow.jobs)")

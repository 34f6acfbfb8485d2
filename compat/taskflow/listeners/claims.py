"""Placeholder: ``CheckingClaimListener`` needs jobboards, which greenflow does not have yet."""

from taskflow._unsupported import unsupported

raise unsupported("taskflow.listeners.claims", "jobboard claim listener (CheckingClaimListener)")

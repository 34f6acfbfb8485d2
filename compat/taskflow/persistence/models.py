"""``taskflow.persistence.models``: greenflow's logbook model under TaskFlow's names."""

from greenflow.persistence import AtomDetail, FlowDetail, LogBook, RetryDetail, TaskDetail

__all__ = ["AtomDetail", "FlowDetail", "LogBook", "RetryDetail", "TaskDetail"]

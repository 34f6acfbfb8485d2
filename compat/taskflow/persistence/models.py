"""``taskflow.persistence.models``: greenflow's logbook model under TaskFlow's names.

``atom_detail_class(type_name)`` and ``atom_detail_type(detail)`` map between the
detail classes and the type names TaskFlow records (``'TaskDetail'``, ``'RetryDetail'``).
"""

from __future__ import annotations

from greenflow.persistence import AtomDetail, FlowDetail, LogBook, RetryDetail, TaskDetail

__all__ = [
    "AtomDetail",
    "FlowDetail",
    "LogBook",
    "RetryDetail",
    "TaskDetail",
    "atom_detail_class",
    "atom_detail_type",
]

_DETAIL_CLASSES: dict[str, type[AtomDetail]] = {cls.__name__: cls for cls in (TaskDetail, RetryDetail)}


def atom_detail_class(atom_type: str) -> type[AtomDetail]:
    """The detail class recorded as ``atom_type``; ``TypeError`` for an unknown one."""
    try:
        return _DETAIL_CLASSES[atom_type]
    except (KeyError, TypeError):
        raise TypeError(
            f"Unknown atom detail type {atom_type!r} (expected one of {sorted(_DETAIL_CLASSES)})"
        ) from None


def atom_detail_type(atom_detail: AtomDetail) -> str:
    """The type name a detail is recorded under; ``TypeError`` for something that is not one."""
    name = type(atom_detail).__name__
    if name not in _DETAIL_CLASSES or not isinstance(atom_detail, AtomDetail):
        raise TypeError(f"Unknown atom detail {atom_detail!r} (expected a TaskDetail or RetryDetail)")
    return name

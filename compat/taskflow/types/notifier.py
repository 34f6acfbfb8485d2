"""``taskflow.types.notifier``: greenflow's ``Notifier`` (``Notifier.ANY`` is ``'*'``)."""

from greenflow.notifier import ANY, Notifier

__all__ = ["ANY", "Notifier"]

"""``taskflow.utils``: only ``persistence_utils`` is provided."""

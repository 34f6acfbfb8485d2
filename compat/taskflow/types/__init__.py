"""``taskflow.types``: value types (``failure``, ``notifier``)."""

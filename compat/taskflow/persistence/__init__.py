"""``taskflow.persistence``: ``models`` (logbooks and details) and ``backends``."""

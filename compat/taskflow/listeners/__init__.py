"""``taskflow.listeners``: ``base``, ``logging``, ``printing``, ``timing`` and ``capturing``."""

"""``taskflow.patterns``: ``linear_flow``, ``unordered_flow`` and ``graph_flow``."""

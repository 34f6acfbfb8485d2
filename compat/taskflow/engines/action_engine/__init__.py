"""``taskflow.engines.action_engine``: TaskFlow's engine classes, on greenflow's engine."""

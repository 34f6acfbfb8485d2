"""``taskflow.conductors``: conductors on greenflow's (``greenflow.conductors``)."""

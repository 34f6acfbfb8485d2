"""``taskflow.jobs``: jobs and jobboards on greenflow's (``greenflow.jobs``)."""

"""``taskflow.engines.worker_based``: TaskFlow's worker-based engine on greenflow's remote workers.

Engines: ``taskflow.engines.load(flow, engine='worker-based', url=..., exchange=...,
topics=[...])`` sends each task to a worker over kombu (greenflow's
``WorkerExecutor``). Workers: ``worker.Worker(exchange=..., topic=..., tasks=[...],
url=...)``. Messages are JSON; a worker runs only the task classes it serves.
"""

"""``taskflow.engines``: load and run flows on greenflow's engine.

``engine='serial'``/``'default'`` runs atoms one at a time in the caller;
``engine='parallel'`` runs independent atoms on ``executor=`` (``'greenthreaded'``,
``'threaded'``, ``'processes'`` or an executor object);
``engine='worker-based'`` runs them on greenflow's remote workers (``url=``,
``exchange=``, ``topics=``).
"""

from taskflow.engines.helpers import (
    ENGINE_DEFAULT,
    ENGINES_NAMESPACE,
    flow_from_detail,
    load,
    load_from_detail,
    load_from_factory,
    run,
    save_factory_details,
)

__all__ = [
    "ENGINES_NAMESPACE",
    "ENGINE_DEFAULT",
    "flow_from_detail",
    "load",
    "load_from_detail",
    "load_from_factory",
    "run",
    "save_factory_details",
]

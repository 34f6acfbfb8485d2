"""TaskFlow's import name on top of greenflow (the ``greenflow-taskflow-compat`` distribution).

Every module here is a thin adapter: the names TaskFlow programs import, mapped
onto greenflow's own. Nothing is imported eagerly, so a program can call
``eventlet.monkey_patch()`` or ``greenflow.hubs.patch(...)`` after
``import taskflow`` and before it loads an engine.
"""

#: Marks this package as the greenflow adapter, not OpenStack TaskFlow.
GREENFLOW_COMPAT = True

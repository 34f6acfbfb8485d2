"""Remote workers: run tasks in other processes or hosts through a message broker (kombu).

A :class:`Worker` consumes the requests sent to its topic and runs only the
task classes it was given; a :class:`WorkerExecutor` is the executor object an
engine sends its tasks through::

    executor = WorkerExecutor("amqp://guest:guest@localhost:5672//", topics=["vm"])
    engine = load(flow, engine="parallel", executor=executor)

Messages are JSON with a version and a checked schema (:func:`parse_message`);
nothing received is unpickled. Built on the atoms (it runs them with
:func:`greenflow.atoms.invoke_atom`), the executors (``WorkerExecutor`` gives
engines its own ``Starter``) and the hubs; nothing below imports it.
Needs the ``workers`` extra: ``pip install greenflow[workers]``.
"""

from greenflow.workers._executor import WorkerExecutor
from greenflow.workers._protocol import (
    PROTOCOL_VERSION,
    Progress,
    Request,
    Response,
    parse_message,
    task_path,
)
from greenflow.workers._worker import Worker

__all__ = [
    "PROTOCOL_VERSION",
    "Progress",
    "Request",
    "Response",
    "Worker",
    "WorkerExecutor",
    "parse_message",
    "task_path",
]

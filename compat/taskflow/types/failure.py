"""``taskflow.types.failure``: ``Failure`` is greenflow's ``Failure``.

It has TaskFlow's attributes and methods: ``exception``, ``exception_str``,
``traceback_str``, ``exc_info``, ``exc_type_names``, ``causes``, ``check()``,
``reraise()``, ``reraise_if_any()``, ``pformat()``, ``to_dict()``/``from_dict()``,
``from_exception()`` and ``matches()``. Differences are listed in the README
(``to_dict()`` is greenflow's versioned format; no ``exception_args``).
"""

from greenflow.failure import Failure

__all__ = ["Failure"]

"""``taskflow.types.failure``: ``Failure`` is greenflow's ``Failure``.

It has TaskFlow's attributes and methods: ``exception``, ``exception_str``,
``exception_args``, ``traceback_str``, ``exc_info``, ``exc_type_names`` (iterating
a failure gives them too), ``causes``, ``check()``, ``reraise()`` (a failure
without its exception raises a ``WrappedFailure`` of itself), ``reraise_if_any()``,
``pformat()``, ``copy()``, ``to_dict(include_args=)``/``from_dict()`` in TaskFlow's
dict format, ``from_exception()`` and ``matches()``. Differences are listed in the
README. The two exc_info helpers TaskFlow's module has are here as well.
"""

from __future__ import annotations

import copy
import traceback
from typing import Any

from greenflow.failure import Failure

__all__ = ["Failure"]

_ExcInfo = tuple[type[BaseException], BaseException, Any]


def _copy_exc_info(exc_info: _ExcInfo | None) -> _ExcInfo | None:
    """``exc_info`` with a shallow copy of its exception (type and traceback shared)."""
    if exc_info is None:
        return None
    exc_type, exc, tb = exc_info
    return (exc_type, copy.copy(exc), tb)


def _are_equal_exc_info_tuples(first: _ExcInfo | None, second: _ExcInfo | None) -> bool:
    """Whether two exc_info triples describe the same exception (a copy's equals its original).

    Exceptions do not compare by value, so the exact types, ``str()`` and
    ``repr()`` of the exceptions and the formatted tracebacks are compared.
    """
    if first is second or first == second:
        return True
    if first is None or second is None:
        return False
    if first[0] is not second[0] or type(first[1]) is not type(second[1]):
        return False
    if str(first[1]) != str(second[1]) or repr(first[1]) != repr(second[1]):
        return False
    return first[2] is second[2] or traceback.format_tb(first[2]) == traceback.format_tb(second[2])

"""``taskflow.persistence.backends.impl_sqlalchemy``: greenflow's SQL backend, when it is installed."""

import importlib

try:
    _class = importlib.import_module("greenflow.persistence._sql").SqlBackend
except (ImportError, AttributeError) as _exc:
    raise ImportError(
        "taskflow.persistence.backends.impl_sqlalchemy: greenflow's SQL persistence backend is not available "
        f"in the installed greenflow ({_exc})"
    ) from _exc

SQLAlchemyBackend = _class

__all__ = ["SQLAlchemyBackend"]

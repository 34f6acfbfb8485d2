"""``taskflow.persistence.backends.impl_dir``: greenflow's dir backend, when it is installed."""

import importlib

try:
    _class = importlib.import_module("greenflow.persistence._dir").DirBackend
except (ImportError, AttributeError) as _exc:
    raise ImportError(
        "taskflow.persistence.backends.impl_dir: greenflow's dir persistence backend is not available "
        f"in the installed greenflow ({_exc})"
    ) from _exc

DirBackend = _class

__all__ = ["DirBackend"]

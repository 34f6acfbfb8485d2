"""``taskflow.persistence.backends.impl_memory``: greenflow's in-process backend.

Unlike TaskFlow's, it keeps the saved objects themselves (no copies): a
detail changed after saving is changed in the backend too.
"""

from greenflow.persistence import MemoryBackend

__all__ = ["MemoryBackend"]

"""Per-engine runtime storage on top of a flow detail; the runtime's recorder seam.

``Recorder`` (and its contract, in ``greenflow.storage._recorder``) is what the
sans-IO runtime records through; ``Storage`` implements it.
"""

from greenflow.storage._recorder import Completion, PendingCommit, RecordedAtom, Recorder
from greenflow.storage._storage import TRANSITIONS_META, Storage

__all__ = ["TRANSITIONS_META", "Completion", "PendingCommit", "RecordedAtom", "Recorder", "Storage"]

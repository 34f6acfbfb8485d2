"""Makes ``tests/support`` importable as ``support`` from every suite (unit, hubs, integration)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# Property-based suites: the "ci" profile (the default) keeps tox fast; run
# `HYPOTHESIS_PROFILE=thorough python tests/hubs/run.py gevent -k random` for a long search.
# Its plugins (trio's, installed by selenium) are not ours and break under eventlet's patching.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the dev extra is not installed: the property suites skip themselves
    pass
else:
    settings.register_profile(
        "ci", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.register_profile("thorough", max_examples=1000, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

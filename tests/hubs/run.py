"""Run the hub contract suite in a process using one hub.

Usage: ``python tests/hubs/run.py {gevent|eventlet|threading} [pytest arguments]``

A green hub needs the process monkey-patched before anything else is
imported, which pytest cannot do for itself; so this runner patches first
(``greenflow.hubs.patch``), then starts pytest on ``tests/hubs``. The tests
read their hub from ``greenflow.hubs.get_hub()``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

HUB_NAMES = ("gevent", "eventlet", "threading")
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in HUB_NAMES:
        print(__doc__, file=sys.stderr)
        return 2
    hub, pytest_args = argv[0], argv[1:]
    # eventlet is deprecated upstream and warns so each time it is imported;
    # that warning is known and not ours to fix, and pytest turns warnings
    # into errors. Silence exactly that one. Its category is
    # EventletDeprecationWarning, which derives from Warning (not
    # DeprecationWarning) and cannot be named before eventlet is imported,
    # hence the match on the message.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated", category=Warning)
    # Lets the runner work from a source checkout where greenflow is not installed.
    sys.path.insert(0, str(REPO_ROOT))

    import greenflow.hubs

    if hub != "threading":
        greenflow.hubs.patch(hub)
    # The tests check that the process runs the hub it was started for.
    import os

    os.environ["GREENFLOW_HUB"] = hub

    import pytest

    # No hub test uses hypothesis, and its plugin would import the packages that
    # register hypothesis plugins (trio does), some of which break once patched.
    defaults = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-W", "error", "--timeout=60"]
    return int(pytest.main([*defaults, str(HERE), *pytest_args]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

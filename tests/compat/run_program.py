"""Run one TaskFlow-style program under a hub: ``python run_program.py <default|eventlet> <program.py>``.

For ``eventlet`` the process is monkey patched before anything else is
imported, as a service on eventlet would do; the program then runs as
``__main__``.
"""

from __future__ import annotations

import runpy
import sys


def main() -> None:
    hub, program = sys.argv[1], sys.argv[2]
    if hub == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    elif hub != "default":
        raise SystemExit(f"unknown hub {hub!r}: expected 'default' or 'eventlet'")
    sys.argv = [program]
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()

"""``greenflow conductor``: claim and run jobs from a jobboard until SIGTERM or SIGINT.

The kind follows the hub: ``--hub gevent`` (or eventlet) runs a green
conductor (``--max-jobs`` jobs at once on one OS thread); without a green hub
a nonblocking conductor runs ``--max-jobs`` jobs on a thread pool;
``--kind blocking`` runs one at a time. A signal stops claiming, suspends the
running engines at their next safe point (running atoms finish), abandons
their jobs for another conductor and exits 0. One log line per job event goes
to stderr; URLs are logged with their passwords masked.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    """Add the ``conductor`` sub-command to the ``greenflow`` parser."""
    parser = sub.add_parser("conductor", help="claim and run jobs from a jobboard until SIGINT/SIGTERM")
    parser.add_argument("--jobboard", required=True, metavar="URL", help="redis://host:6379/0?namespace=...")
    parser.add_argument(
        "--backend", required=True, metavar="URL", help="persistence URL the jobs' logbooks live in"
    )
    parser.add_argument(
        "--hub",
        choices=("gevent", "eventlet", "threading"),
        help="patch for this green hub first and run a green conductor",
    )
    parser.add_argument("--kind", choices=("blocking", "nonblocking", "green"), help="override the kind")
    parser.add_argument("--max-jobs", type=int, default=None, help="jobs at once (green 1000, threads 16)")
    parser.add_argument(
        "--claim-expiry", type=float, default=30.0, help="seconds a claim outlives its last heartbeat"
    )
    parser.add_argument(
        "--allow-factory",
        action="append",
        default=[],
        metavar="PREFIX",
        help="a module prefix whose flow factories jobs may name (repeat for more; '*' allows any)",
    )
    parser.add_argument("--name", default=None, help="the conductor's name (default conductor-<host>-<pid>)")
    parser.add_argument("--engine", default=None, help="engine kind for the jobs (default serial)")
    parser.add_argument(
        "--gc-threshold",
        type=int,
        default=None,
        help="the collector's first threshold while running (default 100000 for the green kind; 0 leaves it)",
    )
    parser.add_argument("--board-name", default="greenflow", help="the jobboard's name (default greenflow)")
    parser.add_argument("--log-level", default="INFO", help="log level (default INFO)")
    parser.set_defaults(func=_cmd_conductor)


def _cmd_conductor(args: argparse.Namespace) -> int:
    import os
    import socket

    from greenflow.conductors import fetch_conductor
    from greenflow.jobs import fetch_jobboard, mask_url
    from greenflow.persistence import fetch_backend

    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("greenflow").setLevel(args.log_level.upper())
    log = logging.getLogger("greenflow.conductors")
    kind = args.kind or ("green" if args.hub in ("gevent", "eventlet") else "nonblocking")
    name = args.name or f"conductor-{socket.gethostname()}-{os.getpid()}"
    options: dict[str, Any] = {"claim_expiry": args.claim_expiry, "gc_threshold": args.gc_threshold}
    if kind == "green":
        options["max_jobs"] = args.max_jobs or 1000
    elif kind == "nonblocking":
        options["max_simultaneous_jobs"] = args.max_jobs or 16
    if args.allow_factory:
        from greenflow.engines import allow_factories

        allow_factories(*args.allow_factory)
    backend = fetch_backend(args.backend)
    board = fetch_jobboard(args.board_name, args.jobboard, persistence=backend)
    conductor = fetch_conductor(kind, name, board, persistence=backend, engine=args.engine, **options)

    def stop(signum: int, _frame: Any) -> None:
        log.info("conductor %s: %s received, stopping", name, signal.Signals(signum).name)
        conductor.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "conductor %s (%s): jobboard %s, backend %s, claim expiry %ss",
        name,
        kind,
        mask_url(args.jobboard),
        mask_url(args.backend),
        args.claim_expiry,
    )
    try:
        conductor.run()
    finally:
        board.close()
        backend.close()
    counts = conductor.counts
    log.info(
        "conductor %s: stopped (claimed %d, consumed %d, abandoned %d, trashed %d, lost %d)",
        name,
        counts["claimed"],
        counts["consumed"],
        counts["abandoned"],
        counts["trashed"],
        counts["lost"],
    )
    return 0

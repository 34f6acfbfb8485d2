"""The ``greenflow`` command: ``demo``, ``run``, ``graph``, ``db``, ``worker``, ``version``.

``greenflow demo`` runs a batch of example workflows at once (``run_many``)
and prints a summary (``--hub gevent`` patches the process first);
``greenflow run module:factory`` loads a flow from a factory and runs it;
``greenflow graph module:factory`` prints the compiled execution graph;
``greenflow db upgrade URL`` creates or migrates a SQL persistence database
and ``greenflow db check URL`` checks it is reachable and current;
``greenflow worker --url URL --topic T --task module:Class`` serves remote
tasks until SIGINT or SIGTERM; ``greenflow conductor --jobboard URL --backend
URL`` claims and runs jobs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from greenflow import __version__
from greenflow.cli import _conductor
from greenflow.exceptions import GreenflowError

if TYPE_CHECKING:
    from greenflow.patterns import Flow

# The engine, compiler and patterns are imported inside the commands: ``demo --hub
# gevent`` must monkey-patch before they (and threading users) are imported.

__all__ = ["main"]


def _factory(spec: str) -> Flow:
    from greenflow.patterns import Flow

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"greenflow: expected MODULE:FACTORY (e.g. myapp.flows:make_flow), got {spec!r}")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"greenflow: cannot load {spec!r}: {exc}") from exc
    flow = target() if callable(target) and not isinstance(target, Flow) else target
    if not isinstance(flow, Flow):
        raise SystemExit(f"greenflow: {spec!r} gave {type(flow).__name__}, not a flow")
    return flow


def _store(pairs: Sequence[str]) -> dict[str, Any]:
    store: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"greenflow: --store takes NAME=VALUE (VALUE as JSON or text), got {pair!r}")
        try:
            store[key] = json.loads(raw)
        except json.JSONDecodeError:
            store[key] = raw
    return store


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.workflows < 1:
        raise SystemExit("greenflow: --workflows must be at least 1")
    if args.concurrency < 1:
        raise SystemExit("greenflow: --concurrency must be at least 1")
    from greenflow.cli._demo import run_demo

    report = run_demo(
        args.workflows,
        seed=args.seed,
        engine=args.engine,
        concurrency=args.concurrency,
        latency_ms=args.latency_ms,
    )
    print("\n".join(report.lines()))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from greenflow.engines import load

    engine = load(_factory(args.factory), store=_store(args.store), engine=args.engine)
    if args.verbose:
        from greenflow.listeners import PrintingListener

        PrintingListener(engine).register()
    try:
        engine.run()
    except Exception as exc:  # report the flow's failure as the command's
        print(
            f"flow {engine.storage.flow_name!r} ended {engine.storage.get_flow_state()}: {exc!r}",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(engine.storage.fetch_all(), default=repr, sort_keys=True))
    return 0


def _cmd_graph(args: argparse.Namespace) -> int:
    from greenflow.compiler import JOIN, compile_flow

    compiled = compile_flow(_factory(args.factory))
    nodes = compiled.nodes
    if args.dot:
        print(f"digraph {json.dumps(compiled.name)} {{")
        for node in nodes:
            shape = "point" if node.kind == JOIN else ("diamond" if node.kind == 1 else "box")
            print(f"  n{node.index} [label={json.dumps(node.name)}, shape={shape}];")
        for node in nodes:
            for s in node.succs:
                print(f"  n{node.index} -> n{s};")
        print("}")
        return 0
    for node in nodes:
        if node.kind == JOIN:
            continue
        after = sorted(_real_preds(nodes, node.index))
        kind = "retry" if node.kind == 1 else "task"
        print(f"{kind} {node.name}" + (f"  after: {', '.join(after)}" if after else ""))
    return 0


def _real_preds(nodes: Any, index: int) -> set[str]:
    from greenflow.compiler import JOIN

    out: set[str] = set()
    stack = list(nodes[index].preds)
    while stack:
        p = stack.pop()
        if nodes[p].kind == JOIN:
            stack.extend(nodes[p].preds)
        else:
            out.add(nodes[p].name)
    return out


def _cmd_db(args: argparse.Namespace) -> int:
    from greenflow.persistence._sql import SqlBackend

    backend = SqlBackend({"connection": args.url})
    try:
        conn = backend.get_connection()
        if args.action == "upgrade":
            conn.upgrade()
            print(f"{backend.url_text}: schema is current")
            return 0
        conn.validate()
        print(f"{backend.url_text}: reachable, schema is current")
        return 0
    finally:
        backend.close()


def _cmd_history(args: argparse.Namespace) -> int:
    from greenflow.persistence import fetch_backend

    backend = fetch_backend(args.url)
    try:
        conn = backend.get_connection()
        books = conn.get_logbooks()
        shown = 0
        for book in sorted(books, key=lambda b: (b.created_at or "", b.name)):
            flows = [fd for fd in book if args.flow is None or args.flow in (fd.uuid, fd.name)]
            if args.state is not None:
                flows = [fd for fd in flows if fd.state == args.state.upper()]
            if not flows:
                continue
            print(f"logbook {book.name} {book.uuid} (created {book.created_at})")
            for fd in flows:
                shown += 1
                atoms = list(fd)
                done = sum(1 for a in atoms if a.state == "SUCCESS")
                print(f"  flow {fd.name} {fd.uuid}: {fd.state} ({done}/{len(atoms)} atoms SUCCESS)")
                if args.atoms:
                    for atom in atoms:
                        failure = f" - {atom.failure.exception_str}" if atom.failure is not None else ""
                        state = f"{atom.state} (intention {atom.intention})"
                        print(f"    {atom.kind} {atom.name}: {state}{failure}")
        if not shown:
            print("no matching flows")
        return 0
    finally:
        backend.close()


def _cmd_worker(args: argparse.Namespace) -> int:
    import signal

    from greenflow.workers import Worker

    worker = Worker(
        args.url, args.exchange, topic=args.topic, tasks=args.task, hub=getattr(args, "hub", None)
    )

    def stop(_signum: int, _frame: Any) -> None:
        worker.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.start()
    # The line scripts (and the integration tests) wait for before sending requests.
    print(f"greenflow worker: consuming topic {args.topic!r} on exchange {args.exchange!r}", flush=True)
    worker.wait_stopped()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenflow", description="greenflow workflow engine")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a batch of example workflows and print a summary")
    demo.add_argument("--workflows", type=int, default=1000, help="how many workflows (default 1000)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the simulated failures")
    demo.add_argument("--engine", default="parallel", help="engine kind (default parallel)")
    demo.add_argument(
        "--concurrency", type=int, default=1000, help="workflows in flight at once (default 1000)"
    )
    demo.add_argument(
        "--latency-ms", type=float, default=5.0, help="simulated remote call time per task (default 5 ms)"
    )
    demo.add_argument(
        "--hub",
        choices=("gevent", "eventlet", "threading"),
        help="patch for this green hub first (default: threading, or GREENFLOW_HUB)",
    )
    demo.set_defaults(func=_cmd_demo)
    run = sub.add_parser("run", help="run the flow a factory returns; print its results as JSON")
    run.add_argument("factory", help="MODULE:FACTORY returning a flow (or MODULE:FLOW)")
    run.add_argument("--store", action="append", default=[], metavar="NAME=VALUE", help="inject a value")
    run.add_argument("--engine", default="serial", help="engine kind (default serial)")
    run.add_argument("-v", "--verbose", action="store_true", help="print every transition")
    run.set_defaults(func=_cmd_run)
    graph = sub.add_parser("graph", help="print a flow's compiled execution graph")
    graph.add_argument("factory", help="MODULE:FACTORY returning a flow (or MODULE:FLOW)")
    graph.add_argument("--dot", action="store_true", help="Graphviz DOT output")
    graph.set_defaults(func=_cmd_graph)
    db = sub.add_parser("db", help="create, migrate or check a SQL persistence database")
    db.add_argument(
        "action",
        choices=("upgrade", "check"),
        help="upgrade: create or migrate the schema; check: exit 2 unless reachable and current",
    )
    db.add_argument("url", help="database URL (sqlite:///file.db, postgresql://..., mysql://...)")
    db.set_defaults(func=_cmd_db)
    history = sub.add_parser("history", help="list the logbooks and flows a persistence backend holds")
    history.add_argument("url", help="backend URL (sqlite:///..., postgresql://..., dir:///...)")
    history.add_argument("--flow", help="only the flow detail with this uuid or name")
    history.add_argument("--state", help="only flows in this state (e.g. RUNNING: left in flight)")
    history.add_argument("--atoms", action="store_true", help="also list each atom's state")
    history.set_defaults(func=_cmd_history)
    worker = sub.add_parser("worker", help="serve remote tasks for a topic until SIGINT/SIGTERM")
    worker.add_argument("--url", required=True, help="broker URL (amqp://user:pass@host:5672//)")
    worker.add_argument("--topic", required=True, help="the topic whose requests to serve")
    worker.add_argument(
        "--task",
        action="append",
        required=True,
        metavar="MODULE:CLASS",
        help="a task class to serve (repeat for more); requests for any other class are refused",
    )
    worker.add_argument("--exchange", default="greenflow", help="exchange name (default greenflow)")
    worker.add_argument(
        "--hub",
        choices=("gevent", "eventlet", "threading"),
        help="patch for this green hub first and run tasks on green threads",
    )
    worker.set_defaults(func=_cmd_worker)
    _conductor.add_parser(sub)
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=lambda _: print(__version__) or 0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``greenflow`` command."""
    args = _parser().parse_args(argv)
    hub = getattr(args, "hub", None)
    if hub in ("gevent", "eventlet"):
        from greenflow.hubs import patch

        try:
            patch(hub)
        except GreenflowError as exc:
            print(f"greenflow: {exc}", file=sys.stderr)
            return 2
    try:
        return int(args.func(args))
    except GreenflowError as exc:
        print(f"greenflow: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2

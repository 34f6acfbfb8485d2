"""The ``greenflow`` command: ``demo``, ``run``, ``graph``, ``history``, ``show``, ``timeline``, ``db``...

``greenflow demo`` runs 10,000 example workflows at once (``run_many``) on
gevent in one OS thread (the process is patched before the engine is
imported), recorded in ``./greenflow-demo.db``, with a progress display, and
prints a summary and the path of a timeline page it wrote;
``greenflow run module:factory`` loads a flow from a factory and runs it;
``greenflow graph module:factory`` prints the compiled execution graph
(text, DOT, or SVG through Graphviz);
``greenflow history URL`` lists the flows a backend recorded,
``greenflow show URL UUID`` one flow's atoms in full, and
``greenflow timeline URL [UUID...]`` writes an HTML page picturing them;
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
from typing import TYPE_CHECKING, Any, Final

from greenflow import __version__
from greenflow.cli import _conductor
from greenflow.exceptions import GreenflowError
from greenflow.masking import mask_text, mask_url

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


DEMO_DB: Final = "greenflow-demo.db"
DEMO_TIMELINE: Final = "greenflow-demo-timeline.html"


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.workflows < 1:
        raise SystemExit("greenflow: --workflows must be at least 1")
    if args.concurrency < 1:
        raise SystemExit("greenflow: --concurrency must be at least 1")
    from greenflow.cli._demo import Progress, remove_sqlite_file, run_demo
    from greenflow.cli._timeline import write_timeline

    url = args.backend
    backend: str | dict[str, Any] = url
    if url is None:
        # The demo's own file: each run starts it afresh, so it holds this run's workflows.
        remove_sqlite_file(DEMO_DB)
        url = f"sqlite:///{DEMO_DB}"
        # WAL with synchronous=NORMAL: a commit survives the process being killed (not a
        # power cut) without waiting for the disk each time.
        backend = {"connection": url, "sqlite_synchronous": "normal"}
    live = sys.stdout.isatty() if args.progress == "auto" else args.progress == "bar"
    progress = None if args.progress == "none" else Progress(args.workflows, live, 0.1 if live else 1.0)
    try:
        report = run_demo(
            args.workflows,
            seed=args.seed,
            engine=args.engine,
            concurrency=args.concurrency,
            latency_ms=args.latency_ms,
            backend=backend,
            progress=progress,
            hub=args.hub,
        )
    finally:
        if progress is not None:
            progress.close()
    timeline = None
    if args.timeline != "":
        timeline = write_timeline(url, report.flow_uuids, args.timeline or DEMO_TIMELINE)
    _print_table("greenflow demo", report.rows() + ([("timeline", timeline)] if timeline else []))
    return 0


def _print_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    # Not a terminal: wide enough that no value is folded (scripts read the lines).
    width = None if sys.stdout.isatty() else max(len(a) for a, _ in rows) + max(len(b) for _, b in rows) + 8
    Console(width=width).print(table)


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


def _graph_dot(name: str, compiled: Any) -> str:
    from greenflow.compiler import JOIN, RETRY

    lines = [f"digraph {json.dumps(name)} {{", "  rankdir=LR;"]
    for node in compiled.nodes:
        shape = "point" if node.kind == JOIN else ("diamond" if node.kind == RETRY else "box")
        lines.append(f"  n{node.index} [label={json.dumps(node.name)}, shape={shape}];")
    for node in compiled.nodes:
        lines.extend(f"  n{node.index} -> n{s};" for s in node.succs)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cmd_graph(args: argparse.Namespace) -> int:
    from greenflow.compiler import JOIN, RETRY, compile_flow

    flow = _factory(args.factory)
    compiled = compile_flow(flow)
    fmt = "dot" if args.dot else args.format
    if fmt == "text":
        nodes = compiled.nodes
        lines = []
        for node in nodes:
            if node.kind == JOIN:
                continue
            after = sorted(_real_preds(nodes, node.index))
            kind = "retry" if node.kind == RETRY else "task"
            lines.append(f"{kind} {node.name}" + (f"  after: {', '.join(after)}" if after else ""))
        text = "\n".join(lines) + "\n"
    elif fmt == "dot":
        text = _graph_dot(flow.name, compiled)
    else:
        text = _dot_to_svg(_graph_dot(flow.name, compiled))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _dot_to_svg(dot: str) -> str:
    import shutil
    import subprocess

    program = shutil.which("dot")
    if program is None:
        raise SystemExit(
            "greenflow: --format svg needs Graphviz's 'dot' program, which is not on PATH; install "
            "Graphviz (e.g. apt-get install graphviz) or use --format dot"
        )
    proc = subprocess.run([program, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise SystemExit(f"greenflow: dot -Tsvg failed: {proc.stderr.strip()}")
    return proc.stdout


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
    from greenflow.cli._inspect import HISTORY_COLUMNS, format_table, history_record, history_row
    from greenflow.cli._records import load_runs

    runs = load_runs(args.url)
    if args.flow is not None:
        runs = [r for r in runs if args.flow in (r.uuid, r.name)]
    if args.state is not None:
        runs = [r for r in runs if r.state == args.state.upper()]
    if args.limit is not None:
        runs = runs[-args.limit :] if args.limit > 0 else []
    if args.json:
        print(json.dumps([history_record(r, args.atoms) for r in runs], indent=1))
        return 0
    if not runs:
        print("no matching flows")
        return 0
    if not args.atoms:
        print("\n".join(format_table(HISTORY_COLUMNS, [history_row(r) for r in runs])))
        return 0
    for run in runs:
        print("  ".join(c for c in history_row(run) if c))
        for atom in run.atoms:
            failure = f" - {atom.detail.failure.exception_str}" if atom.detail.failure is not None else ""
            print(f"    {atom.kind} {atom.name}: {atom.state} (intention {atom.detail.intention}){failure}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from greenflow.cli._inspect import show_text
    from greenflow.cli._records import load_runs

    for run in load_runs(args.url, [args.flow_uuid]):
        print("\n".join(show_text(run)))
    return 0


def _cmd_timeline(args: argparse.Namespace) -> int:
    from greenflow.cli._records import load_runs
    from greenflow.cli._timeline import render_timeline

    if args.max_flows < 1:
        raise SystemExit("greenflow: --max-flows must be at least 1")
    runs = load_runs(args.url, args.flow_uuids)
    if not runs:
        raise SystemExit(f"greenflow: {mask_url(args.url)} holds no flows to draw")
    with open(args.output, "w", encoding="utf-8") as out:
        out.write(render_timeline(runs, args.url, args.max_flows))
    charted = min(len(runs), args.max_flows)
    print(f"wrote {args.output}: {len(runs):,} flows, {charted:,} charted")
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    import signal

    from greenflow.workers import Worker

    worker = Worker(
        args.url,
        args.exchange,
        topic=args.topic,
        tasks=args.task,
        hub=getattr(args, "hub", None),
        reconnect_timeout=args.reconnect_timeout,
    )

    def stop(_signum: int, _frame: Any) -> None:
        worker.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.start()
    # The line scripts (and the integration tests) wait for before sending requests.
    print(f"greenflow worker: consuming topic {args.topic!r} on exchange {args.exchange!r}", flush=True)
    worker.wait_stopped()
    if worker.error is not None:  # gave up on the broker: a supervisor should restart it
        print(f"greenflow worker: {mask_text(str(worker.error))}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenflow", description="greenflow workflow engine")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="run 10,000 example workflows on green threads, recorded in SQLite; print a summary"
    )
    demo.add_argument("--workflows", type=int, default=10_000, help="how many workflows (default 10000)")
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
        default="gevent",
        help="gevent (default: the process is patched first), eventlet, or threading (no patching)",
    )
    demo.add_argument(
        "--backend",
        metavar="URL",
        help=f"where to record the runs (default: sqlite:///{DEMO_DB}, started afresh each run)",
    )
    demo.add_argument(
        "--timeline",
        metavar="PATH",
        help=f"where to write the timeline page (default {DEMO_TIMELINE}; '' for none)",
    )
    demo.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "none"),
        default="auto",
        help="a live bar on a terminal, periodic lines otherwise (default auto)",
    )
    demo.set_defaults(func=_cmd_demo)
    run = sub.add_parser("run", help="run the flow a factory returns; print its results as JSON")
    run.add_argument("factory", help="MODULE:FACTORY returning a flow (or MODULE:FLOW)")
    run.add_argument("--store", action="append", default=[], metavar="NAME=VALUE", help="inject a value")
    run.add_argument("--engine", default="serial", help="engine kind (default serial)")
    run.add_argument("-v", "--verbose", action="store_true", help="print every transition")
    run.set_defaults(func=_cmd_run)
    graph = sub.add_parser("graph", help="print a flow's compiled execution graph (text, DOT or SVG)")
    graph.add_argument("factory", help="MODULE:FACTORY returning a flow (or MODULE:FLOW)")
    graph.add_argument(
        "--format",
        choices=("text", "dot", "svg"),
        default="text",
        help="text (default), Graphviz DOT, or SVG drawn by Graphviz's dot",
    )
    graph.add_argument("--dot", action="store_true", help="same as --format dot")
    graph.add_argument("-o", "--output", metavar="PATH", help="write to PATH instead of standard output")
    graph.set_defaults(func=_cmd_graph)
    db = sub.add_parser("db", help="create, migrate or check a SQL persistence database")
    db.add_argument(
        "action",
        choices=("upgrade", "check"),
        help="upgrade: create or migrate the schema; check: exit 2 unless reachable and current",
    )
    db.add_argument("url", help="database URL (sqlite:///file.db, postgresql://..., mysql://...)")
    db.set_defaults(func=_cmd_db)
    history = sub.add_parser("history", help="list the flows a persistence backend recorded, oldest first")
    history.add_argument("url", help="backend URL (sqlite:///..., postgresql://..., dir:///...)")
    history.add_argument("--flow", help="only the flow detail with this uuid or name")
    history.add_argument("--state", help="only flows in this state (e.g. RUNNING: left in flight)")
    history.add_argument("--limit", type=int, metavar="N", help="only the N most recent flows")
    history.add_argument("--atoms", action="store_true", help="also list each atom's state")
    history.add_argument("--json", action="store_true", help="print JSON (a list of flows) instead")
    history.set_defaults(func=_cmd_history)
    show = sub.add_parser(
        "show", help="one recorded flow: each atom's state, result, failure, retries and reverts"
    )
    show.add_argument("url", help="backend URL")
    show.add_argument("flow_uuid", help="the flow detail's uuid (greenflow history lists them)")
    show.set_defaults(func=_cmd_show)
    timeline = sub.add_parser(
        "timeline", help="write an HTML page picturing recorded runs (Gantt chart of atoms, concurrency)"
    )
    timeline.add_argument("url", help="backend URL")
    timeline.add_argument("flow_uuids", nargs="*", metavar="FLOW_UUID", help="only these flows (default all)")
    timeline.add_argument("-o", "--output", default="timeline.html", help="the page (default timeline.html)")
    timeline.add_argument(
        "--max-flows",
        type=int,
        default=40,
        help="chart at most this many flows; a larger batch is sampled (default 40)",
    )
    timeline.set_defaults(func=_cmd_timeline)
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
        "--reconnect-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="after losing the broker, keep reconnecting this long, then exit 1 (default 300)",
    )
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
            print(f"greenflow: {mask_text(str(exc))}", file=sys.stderr)
            return 2
    try:
        return int(args.func(args))
    except GreenflowError as exc:
        print(f"greenflow: {type(exc).__name__}: {mask_text(str(exc))}", file=sys.stderr)
        return 2

"""``greenflow history`` and ``greenflow show``: what a backend recorded, as text or JSON."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any, Final

from greenflow import states
from greenflow.cli._records import AtomRun, FlowRun
from greenflow.failure import Failure
from greenflow.persistence import RetryDetail

__all__ = ["HISTORY_COLUMNS", "format_table", "history_record", "history_row", "show_text"]

#: Columns of ``greenflow history``.
HISTORY_COLUMNS: Final = ("flow", "uuid", "state", "started (UTC)", "duration", "failure")
_FAILURE_WIDTH: Final = 70
_VALUE_WIDTH: Final = 400


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.datetime.fromtimestamp(at, datetime.timezone.utc).isoformat(timespec="milliseconds")


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _took(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def history_row(run: FlowRun) -> tuple[str, ...]:
    """One line of the history table."""
    started = _iso(run.start)
    return (
        run.name,
        run.uuid,
        run.state,
        started.replace("+00:00", "").replace("T", " ") if started else "-",
        _took(run.seconds),
        _short(_flow_failure(run), _FAILURE_WIDTH),
    )


def _flow_failure(run: FlowRun) -> str:
    if not run.failure:
        return ""
    return f"retried after {run.failure}" if run.state == states.SUCCESS else run.failure


def history_record(run: FlowRun, atoms: bool = False) -> dict[str, Any]:
    """One flow of ``history --json``."""
    record: dict[str, Any] = {
        "flow": run.name,
        "uuid": run.uuid,
        "state": run.state,
        "started": _iso(run.start),
        "seconds": run.seconds,
        "failure": _flow_failure(run) or None,
    }
    if atoms:
        record["atoms"] = [
            {"name": a.name, "kind": a.kind, "state": a.state, "executions": a.executions} for a in run.atoms
        ]
    return record


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as aligned text columns under their headers (the last column is not padded)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _value(value: Any) -> str:
    return _short(json.dumps(value, default=repr, sort_keys=True), _VALUE_WIDTH)


def _failure_lines(label: str, failure: Failure, indent: str) -> list[str]:
    kind = failure.exc_type_names[0] if failure.exc_type_names else "Exception"
    out = [f"{indent}{label}: {kind}: {failure.exception_str}"]
    if failure.traceback_str:
        out.append(f"{indent}  Traceback (most recent call last):")
        out.extend(f"{indent}  {line}" for line in failure.traceback_str.rstrip().splitlines())
    return out


def _atom_lines(atom: AtomRun) -> list[str]:
    detail = atom.detail
    out = [f"atom {atom.name} ({atom.kind}): {atom.state} (intention {detail.intention})"]
    ran = f"executions: {atom.executions}"
    if atom.executions > 1:
        ran += f" (run again {atom.executions - 1} time{'s' if atom.executions > 2 else ''} by a retry)"
    out.append("  " + ran)
    for seg in atom.segments:
        note = f": {seg.note}" if seg.note else ""
        out.append(f"    {_iso(seg.start)}  {seg.kind:<14} {_took(seg.seconds):>9}{note}")
    if isinstance(detail, RetryDetail):
        for attempt, (result, failures) in enumerate(detail.results or (), start=1):
            out.append(f"  attempt {attempt}: provided {_value(result)}")
            for name, failure in failures.items():
                out.extend(_failure_lines(f"failed {name}", failure, "    "))
    elif detail.results is not None:
        out.append(f"  result: {_value(detail.results)}")
    if detail.failure is not None:
        out.extend(_failure_lines("failure", detail.failure, "  "))
    if detail.revert_results is not None:
        out.append(f"  revert result: {_value(detail.revert_results)}")
    if detail.revert_failure is not None:
        out.extend(_failure_lines("revert failure", detail.revert_failure, "  "))
    return out


def show_text(run: FlowRun) -> list[str]:
    """Every atom of one recorded run: state, result, failure with traceback, retries, reverts."""
    out = [f"flow {run.name} {run.uuid}: {run.state}"]
    if run.start is not None:
        out.append(f"  started {_iso(run.start)}, took {_took(run.seconds)}")
    injected = run.detail.meta.get("injected")
    if injected:
        out.append(f"  store: {_value(injected)}")
    for atom in run.atoms:
        out.extend(_atom_lines(atom))
    return out

"""``greenflow timeline``: a self-contained HTML page picturing recorded runs.

The page is one file with inline CSS and SVG (no script, nothing fetched):

* for a batch, an overview of concurrency over the batch's time — flows in
  flight and atoms running — drawn from a sweep over every run's start and
  end (sorted once, then reduced to a fixed number of columns, each keeping
  its peak), so ten thousand flows cost no more to draw than ten;
* a Gantt chart per flow: one row per atom, one bar per segment
  (executions, re-executions after a retry, failures, reverts, failed
  reverts, a retry's decision, interrupted work) in distinct colours on a
  time axis from the flow's start, with the details in each bar's tooltip
  (SVG ``<title>``).

At most ``max_flows`` flows get a chart; a larger batch is sampled (every
kind of outcome first, then flows spread evenly over the batch) and the page
says so.
"""

from __future__ import annotations

import datetime
import html
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final

from greenflow import states
from greenflow.cli._records import FlowRun, Segment, load_runs
from greenflow.masking import mask_url

__all__ = ["COLOURS", "DEFAULT_MAX_FLOWS", "render_timeline", "sample_runs", "write_timeline"]

#: Fill colour of each segment kind (the page's legend lists them).
COLOURS: Final = {
    "execute": "#2e7d32",
    "retry": "#1565c0",
    "failure": "#c62828",
    "revert": "#ef6c00",
    "revert-failure": "#6a1b9a",
    "retrying": "#00acc1",
    "interrupted": "#9e9e9e",
}
_LEGEND: Final = {
    "execute": "execute",
    "retry": "execute again (after a retry)",
    "failure": "execute failed",
    "revert": "revert",
    "revert-failure": "revert failed",
    "retrying": "retry runs its flow again",
    "interrupted": "started, never ended",
}
DEFAULT_MAX_FLOWS: Final = 40
_ENDED: Final = frozenset({states.SUCCESS, states.REVERTED, states.FAILURE, states.SUSPENDED})

_WIDTH: Final = 1100
_LABEL: Final = 190  # left column: atom names
_PLOT: Final = _WIDTH - _LABEL - 30
_ROW: Final = 18
_BAR: Final = 12
_COLUMNS: Final = 400  # overview resolution
_CHART_HEIGHT: Final = 90

_CSS: Final = """
body { font: 13px/1.4 system-ui, sans-serif; margin: 24px; color: #212121; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 24px 0 6px; }
.meta, .note { color: #555; } .note { margin: 6px 0; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -2px; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .axis line { stroke: #bbb; } svg .axis text { fill: #777; }
svg .bar:hover { stroke: #000; stroke-width: 1; }
svg .flow-title { font-weight: bold; }
.flow { margin-bottom: 10px; }
"""


def _clock(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def _nice_step(span: float, ticks: int = 8) -> float:
    raw = span / ticks if span > 0 else 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next((f * magnitude for f in (1.0, 2.0, 5.0) if raw <= f * magnitude), 10.0 * magnitude)


def _axis(span: float, y: float, height: float) -> list[str]:
    """Tick lines and labels for ``0 .. span`` seconds across the plot."""
    step = _nice_step(span)
    out = ['<g class="axis">']
    tick = 0.0
    while tick <= span * 1.0001 and step > 0:
        x = _LABEL + (tick / span * _PLOT if span > 0 else 0)
        label = f"{tick * 1000:g} ms" if span < 2 else f"{tick:g} s"
        out.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + height:.1f}"/>')
        out.append(f'<text x="{x:.1f}" y="{y - 3:.1f}" text-anchor="middle">{label}</text>')
        tick += step
    out.append("</g>")
    return out


def sample_runs(runs: Sequence[FlowRun], limit: int) -> tuple[list[FlowRun], str]:
    """Up to ``limit`` runs to chart, oldest first, and a note when some were left out.

    Every kind of outcome is shown first (each final state other than
    SUCCESS, and retried runs), then runs spread evenly over the batch.
    """
    if len(runs) <= limit:
        return list(runs), ""
    chosen: dict[str, FlowRun] = {}
    share = max(1, limit // 4)
    groups: dict[str, list[FlowRun]] = {}
    for run in runs:
        if run.state != states.SUCCESS:
            groups.setdefault(run.state, []).append(run)
        elif run.retried:
            groups.setdefault("retried", []).append(run)
    for members in groups.values():
        for run in members[:share]:
            if len(chosen) < limit:
                chosen[run.uuid] = run
    stride = max(1, len(runs) // max(1, limit - len(chosen)))
    for run in (*runs[::stride], *runs):  # spread evenly, then fill up in order
        if len(chosen) >= limit:
            break
        chosen.setdefault(run.uuid, run)
    picked = sorted(chosen.values(), key=lambda r: (r.start is None, r.start or 0.0))
    note = (
        f"Showing {len(picked):,} of {len(runs):,} flows: the first of each outcome (retried, "
        f"reverted, failed) and flows spread evenly over the batch. Name flow uuids on the command "
        f"line to chart others."
    )
    return picked, note


def _concurrency(runs: Sequence[FlowRun]) -> tuple[float, float, list[int], list[int]]:
    """``(start, end, flows in flight per column, atoms running per column)`` over the batch.

    A sweep: every start is +1 and every end -1; events sorted once
    (O(n log n)); each column keeps the peak reached in it.
    """
    flow_events: list[tuple[float, int]] = []
    atom_events: list[tuple[float, int]] = []
    last = max((run.end for run in runs if run.end is not None), default=0.0)
    for run in runs:
        if run.start is not None and run.end is not None:
            # A flow still running (or cut off) is in flight up to the last thing recorded.
            end = run.end if run.state in _ENDED else last
            flow_events += ((run.start, 1), (end, -1))
        for atom in run.atoms:
            for seg in atom.segments:
                if seg.kind != "retrying":
                    atom_events += ((seg.start, 1), (seg.end, -1))
    if not flow_events:
        return 0.0, 0.0, [], []
    start = min(at for at, _ in flow_events)
    end = max(at for at, _ in flow_events)
    return start, end, _peaks(flow_events, start, end), _peaks(atom_events, start, end)


def _peaks(events: list[tuple[float, int]], start: float, end: float) -> list[int]:
    # Ends sort before starts at the same instant: a flow ending as another begins is not overlap.
    events.sort()
    span = end - start or 1e-9
    peaks = [0] * _COLUMNS
    level = index = 0
    last = _COLUMNS - 1
    for column in range(_COLUMNS):
        limit = start + (column + 1) * span / _COLUMNS
        peak = level  # the level the column was entered at
        while index < len(events) and (column == last or events[index][0] < limit):
            level += events[index][1]
            index += 1
            peak = max(peak, level)
        peaks[column] = peak
    return peaks


def _step_chart(label: str, css: str, values: list[int], y: float, colour: str) -> list[str]:
    top = max(values) if values else 0
    out = [f'<g class="chart {css}" data-peak="{top}">']
    out.append(f'<text x="0" y="{y + 12:.1f}" class="flow-title">{html.escape(label)}</text>')
    out.append(f'<text x="0" y="{y + 28:.1f}">peak {top:,}</text>')
    if top:
        width = _PLOT / len(values)
        points = [f"{_LABEL:.1f},{y + _CHART_HEIGHT:.1f}"]
        for i, value in enumerate(values):
            h = value / top * (_CHART_HEIGHT - 4)
            x0, x1 = _LABEL + i * width, _LABEL + (i + 1) * width
            points.append(f"{x0:.1f},{y + _CHART_HEIGHT - h:.1f} {x1:.1f},{y + _CHART_HEIGHT - h:.1f}")
        points.append(f"{_LABEL + _PLOT:.1f},{y + _CHART_HEIGHT:.1f}")
        out.append(
            f'<polygon points="{" ".join(points)}" fill="{colour}" fill-opacity="0.35" stroke="{colour}"/>'
        )
    out.append("</g>")
    return out


def _overview(runs: Sequence[FlowRun]) -> list[str]:
    start, end, flows, atoms = _concurrency(runs)
    if not flows:
        return ['<p class="note">These records hold no timestamps (written without them).</p>']
    span = end - start
    height = 2 * _CHART_HEIGHT + 60
    out = [
        "<h2>Concurrency over the batch</h2>",
        f'<p class="meta">{_clock(start)} to {_clock(end)} UTC ({_duration(span)}); each column '
        f"shows the peak reached in it.</p>",
        f'<svg class="overview" width="{_WIDTH}" height="{height}" viewBox="0 0 {_WIDTH} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
    ]
    out += _axis(span, 18, height - 20)
    out += _step_chart("flows in flight", "flows-in-flight", flows, 20, "#1565c0")
    out += _step_chart("atoms running", "atoms-running", atoms, 40 + _CHART_HEIGHT, "#2e7d32")
    out.append("</svg>")
    return out


def _bar(seg: Segment, origin: float, scale: float, y: float, atom: str) -> str:
    x = _LABEL + (seg.start - origin) * scale
    width = max(2.0, seg.seconds * scale)
    tip = f"{atom}: {_LEGEND[seg.kind]}"
    if seg.attempt:
        tip += f" (execution {seg.attempt})"
    tip += f", {_duration(seg.seconds)}, {_clock(seg.start)} to {_clock(seg.end)} UTC"
    if seg.note:
        tip += f"\n{seg.note}"
    return (
        f'<rect class="bar bar-{seg.kind}" data-kind="{seg.kind}" data-start="{seg.start:.6f}" '
        f'data-end="{seg.end:.6f}" x="{x:.2f}" y="{y:.1f}" width="{width:.2f}" height="{_BAR}" '
        f'fill="{COLOURS[seg.kind]}"><title>{html.escape(tip)}</title></rect>'
    )


def _gantt(run: FlowRun) -> list[str]:
    atoms = run.atoms
    height = 34 + _ROW * max(1, len(atoms))
    origin = run.start if run.start is not None else 0.0
    span = (run.end - origin) if run.end is not None and run.start is not None else 0.0
    scale = _PLOT / span if span > 0 else 0.0
    took = f", {_duration(span)}" if run.seconds is not None else ""
    title = f"{run.name} {run.uuid[:8]}: {run.state}{took}"
    out = [
        f'<div class="flow" data-flow="{html.escape(run.uuid)}" data-state="{html.escape(run.state)}">',
        f'<svg class="gantt" width="{_WIDTH}" height="{height}" viewBox="0 0 {_WIDTH} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="12" class="flow-title">{html.escape(title)}<title>{html.escape(run.uuid)}'
        f"{html.escape(chr(10) + run.failure) if run.failure else ''}</title></text>",
    ]
    if span > 0:
        out += _axis(span, 30, height - 30)
    for row, atom in enumerate(atoms):
        y = 30 + row * _ROW
        out.append(
            f'<g class="atom-row" data-flow="{html.escape(run.uuid)}" data-atom="{html.escape(atom.name)}" '
            f'data-state="{html.escape(atom.state)}" data-executions="{atom.executions}">'
        )
        label = f"{atom.name} ({atom.kind})" if atom.kind == "retry" else atom.name
        out.append(
            f'<text x="0" y="{y + _BAR - 2:.1f}">{html.escape(label)}<title>{html.escape(atom.name)}: '
            f"{html.escape(atom.state)}</title></text>"
        )
        for seg in atom.segments:
            out.append(_bar(seg, origin, scale, y + (_ROW - _BAR) / 2, atom.name))
        out.append("</g>")
    out += ["</svg>", "</div>"]
    return out


def render_timeline(runs: Sequence[FlowRun], source: str, max_flows: int = DEFAULT_MAX_FLOWS) -> str:
    """The page for ``runs`` read from ``source`` (a URL, shown with any password hidden)."""
    counts = Counter(run.state for run in runs)
    shown, note = sample_runs(runs, max_flows)
    retried = sum(1 for run in runs if run.retried)
    summary = ", ".join(f"{n:,} {state}" for state, n in sorted(counts.items()))
    legend = "".join(
        f'<span><i style="background:{COLOURS[kind]}"></i>{html.escape(text)}</span>'
        for kind, text in _LEGEND.items()
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>greenflow timeline: {len(runs):,} flows</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>greenflow timeline</h1>",
        f'<p class="meta">{html.escape(mask_url(source))}: {len(runs):,} flows ({html.escape(summary)}); '
        f"{retried:,} retried.</p>",
        f'<p class="legend">{legend}</p>',
    ]
    if len(runs) > 1:
        parts += _overview(runs)
    parts.append("<h2>Atoms of each flow</h2>")
    parts.append('<p class="meta">Time axis: from each flow\'s start. Hover a bar for its details.</p>')
    if note:
        parts.append(f'<p class="note sampled">{html.escape(note)}</p>')
    for run in shown:
        parts += _gantt(run)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_timeline(
    url: str, flow_uuids: Iterable[str] = (), path: str = "timeline.html", max_flows: int = DEFAULT_MAX_FLOWS
) -> str:
    """Read the runs ``url`` holds (or those named), write the page to ``path``; return the path."""
    runs = load_runs(url, flow_uuids)
    page = render_timeline(runs, url, max_flows)
    with open(path, "w", encoding="utf-8") as out:
        out.write(page)
    return path

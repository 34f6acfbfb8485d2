"""What a backend recorded, read back as runs: flows, their atoms, and each atom's time segments.

Storage stamps every state change in ``meta["transitions"]`` (``[[state,
unix time], ...]``); this module turns those into segments — an execution
(RUNNING to SUCCESS or FAILURE), a revert (REVERTING to REVERTED or
REVERT_FAILURE), a retry's decision to run its flow again (RETRYING) — for
``greenflow timeline``, ``history`` and ``show``. Records written without
stamps (by TaskFlow, or by an older greenflow) read as runs with no times.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from greenflow import states
from greenflow.exceptions import NotFoundError, StorageError
from greenflow.masking import mask_url
from greenflow.persistence import AtomDetail, FlowDetail, RetryDetail, fetch_backend
from greenflow.storage import TRANSITIONS_META

__all__ = [
    "SEGMENT_KINDS",
    "AtomRun",
    "FlowRun",
    "Segment",
    "flow_run",
    "load_runs",
]

#: Kinds of segment: a first execution, a re-execution (after a retry), a failed
#: execution, a revert, a failed revert, a retry deciding to run its flow again,
#: and an execution or revert the record shows started but never ended.
SEGMENT_KINDS: Final = ("execute", "retry", "failure", "revert", "revert-failure", "retrying", "interrupted")


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of an atom's life: ``kind`` from ``SEGMENT_KINDS``, unix times, which execution."""

    kind: str
    start: float
    end: float
    attempt: int
    note: str = ""

    @property
    def seconds(self) -> float:
        """How long it lasted."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class AtomRun:
    """One atom of a recorded flow: its final state and its segments, oldest first."""

    name: str
    kind: str
    state: str
    segments: tuple[Segment, ...]
    executions: int
    detail: AtomDetail

    @property
    def start(self) -> float | None:
        """When it first started (``None`` if it never ran or the record has no times)."""
        return self.segments[0].start if self.segments else None


@dataclass(frozen=True, slots=True)
class FlowRun:
    """One recorded flow run: state, when it ran, its atoms ordered by when they first started."""

    uuid: str
    name: str
    state: str
    start: float | None
    end: float | None
    atoms: tuple[AtomRun, ...]
    failure: str
    detail: FlowDetail

    @property
    def seconds(self) -> float | None:
        """How long the run lasted, if the record says."""
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    @property
    def retried(self) -> bool:
        """Whether some atom ran more than once."""
        return any(a.executions > 1 for a in self.atoms)


def _stamps(meta: Any) -> list[tuple[str, float]]:
    raw = meta.get(TRANSITIONS_META) if isinstance(meta, dict) else None
    if not isinstance(raw, list):
        return []
    out: list[tuple[str, float]] = []
    for item in raw:
        if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], (int, float)):
            out.append((str(item[0]), float(item[1])))
    return out


def _failure_text(failure: Any) -> str:
    if failure is None:
        return ""
    kind = failure.exc_type_names[0].rsplit(".", 1)[-1] if failure.exc_type_names else "Exception"
    return f"{kind}: {failure.exception_str}"


def _earlier_failures(flow_detail: FlowDetail) -> dict[str, list[str]]:
    """``{atom name: [failure text, ...]}`` from every retry's history, in order of attempts."""
    out: dict[str, list[str]] = {}
    for detail in flow_detail:
        if isinstance(detail, RetryDetail):
            for _result, failures in detail.results or ():
                for name, failure in failures.items():
                    out.setdefault(name, []).append(_failure_text(failure))
    return out


# (what was open, the state that followed) -> the segment it was; anything else: interrupted.
_ENDED_BY: Final = {
    ("run", states.SUCCESS): "execute",
    ("run", states.FAILURE): "failure",
    ("revert", states.REVERTED): "revert",
    ("revert", states.REVERT_FAILURE): "revert-failure",
}


def _segments(
    stamps: Sequence[tuple[str, float]],
    failures: list[str],
    last_failure: str,
    revert_failure: str,
    end: float,
) -> tuple[list[Segment], int]:
    segments: list[Segment] = []
    executions = 0
    open_kind: str | None = None
    open_at = 0.0
    for state, at in stamps:
        if open_kind is not None:
            kind = open_kind if open_kind == "retrying" else _ENDED_BY.get((open_kind, state), "interrupted")
            if kind == "execute" and executions > 1:
                kind = "retry"
            note = revert_failure if kind == "revert-failure" else ""
            if kind == "interrupted":
                note = f"never ended: the record goes on with {state}"
            segments.append(Segment(kind, open_at, at, executions, note))
            open_kind = None
        if state == states.RUNNING:
            executions += 1
            open_kind, open_at = "run", at
        elif state == states.REVERTING:
            open_kind, open_at = "revert", at
        elif state == states.RETRYING:
            open_kind, open_at = "retrying", at
    if open_kind is not None:
        what = "never ended: the run was interrupted"
        segments.append(Segment("interrupted", open_at, max(end, open_at), executions, what))
    # The last failed execution's exception is the detail's; earlier ones are in a retry's
    # history, in order (a retry reverted for good forgets its history: those stay unnamed).
    failed = [i for i, seg in enumerate(segments) if seg.kind == "failure"]
    for n, i in enumerate(failed):
        note = last_failure if n == len(failed) - 1 and last_failure else ""
        note = note or (failures[n] if n < len(failures) else "")
        if note:
            segments[i] = replace(segments[i], note=note)
    return segments, executions


def flow_run(flow_detail: FlowDetail) -> FlowRun:
    """The run a flow detail records, with each atom's segments."""
    flow_stamps = _stamps(flow_detail.meta)
    atom_stamps = {d.name: _stamps(d.meta) for d in flow_detail}
    every = [at for stamps in atom_stamps.values() for _, at in stamps] + [at for _, at in flow_stamps]
    runs = [at for s, at in flow_stamps if s == states.RUNNING]
    start = runs[0] if runs else (min(every) if every else None)
    end = max(every) if every else None
    earlier = _earlier_failures(flow_detail)
    atoms: list[AtomRun] = []
    failure = ""
    for detail in flow_detail:
        if detail.name.startswith("_TaskFlow_"):
            continue  # TaskFlow's injector record holds injected values, it is not an atom
        last_failure = _failure_text(detail.failure)
        failure = failure or last_failure
        segments, executions = _segments(
            atom_stamps[detail.name],
            earlier.get(detail.name, []),
            last_failure,
            _failure_text(detail.revert_failure),
            end or 0.0,
        )
        atoms.append(AtomRun(detail.name, detail.kind, detail.state, tuple(segments), executions, detail))
    if not failure:
        for detail in flow_detail:
            failure = failure or _failure_text(detail.revert_failure)
            for text in earlier.get(detail.name, []):
                failure = failure or text
    atoms.sort(key=lambda a: (a.start is None, a.start or 0.0))
    state = flow_detail.state or states.PENDING  # a flow that never ran holds no state yet
    return FlowRun(flow_detail.uuid, flow_detail.name, state, start, end, tuple(atoms), failure, flow_detail)


def _every_flow(conn: Any) -> dict[str, FlowDetail]:
    """Every flow detail ``conn`` holds; a corrupt record is skipped, saying so on stderr."""
    try:
        return {fd.uuid: fd for book in conn.get_logbooks() for fd in book}
    except StorageError:  # one bad record: read them one by one and keep the others
        pass
    found: dict[str, FlowDetail] = {}
    for book in conn.get_logbooks(lazy=True):
        try:
            flows = conn.get_flows_for_book(book.uuid, lazy=True)
        except StorageError as exc:
            print(f"greenflow: skipped logbook {book.uuid}: {exc!s:.300}", file=sys.stderr)
            continue
        for flow in flows:
            try:
                found[flow.uuid] = conn.get_flow_details(flow.uuid)
            except StorageError as exc:
                print(f"greenflow: skipped flow {flow.uuid}: {exc!s:.300}", file=sys.stderr)
    return found


def load_runs(url: str, flow_uuids: Iterable[str] = ()) -> list[FlowRun]:
    """Every flow run ``url``'s backend holds (or those named), oldest first.

    Raises ``NotFoundError`` naming the uuids the backend does not hold.
    """
    wanted = list(dict.fromkeys(flow_uuids))
    backend = fetch_backend(url)
    try:
        conn = backend.get_connection()
        details: list[FlowDetail] = []
        missing: list[str] = []
        if wanted and len(wanted) <= 50:
            for uuid in wanted:  # a few: fetch each, not the whole store
                try:
                    details.append(conn.get_flow_details(uuid))
                except NotFoundError:
                    missing.append(uuid)
        else:
            found = _every_flow(conn)
            missing = [u for u in wanted if u not in found]
            details = [found[u] for u in wanted if u in found] if wanted else list(found.values())
    finally:
        backend.close()
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise NotFoundError(f"{mask_url(url)} holds no flow detail with uuid {shown}")
    runs = [flow_run(fd) for fd in details]
    if not wanted:
        runs.sort(key=lambda r: (r.start is None, r.start or 0.0))
    return runs

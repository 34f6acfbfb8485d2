"""Recorded runs read back as segments, and the timeline page drawn from them."""

from __future__ import annotations

import re

from greenflow import states
from greenflow.cli._records import flow_run
from greenflow.cli._timeline import DEFAULT_MAX_FLOWS, render_timeline, sample_runs
from greenflow.failure import Failure
from greenflow.persistence import FlowDetail, RetryDetail, TaskDetail
from greenflow.storage import TRANSITIONS_META

T0 = 1_800_000_000.0


def stamped(detail, *transitions):
    detail.meta[TRANSITIONS_META] = [[state, T0 + at] for state, at in transitions]
    return detail


def failure(message: str) -> Failure:
    try:
        raise ConnectionError(message)
    except ConnectionError as exc:
        return Failure.from_exception(exc)


def recorded_flow(name: str = "flow", state: str = states.SUCCESS) -> FlowDetail:
    fd = FlowDetail(name)
    fd.state = state
    fd.meta[TRANSITIONS_META] = [[states.PENDING, T0], [states.RUNNING, T0 + 0.1], [state, T0 + 2.0]]
    return fd


def test_executions_retries_failures_and_reverts_become_segments_in_order():
    fd = recorded_flow()
    retry = RetryDetail("again")
    first, second = failure("first try"), failure("second try")
    retry.results = [(1, {"call": first}), (2, {"call": second}), (3, {})]
    stamped(
        retry,
        (states.RUNNING, 0.1),
        (states.SUCCESS, 0.2),
        (states.RETRYING, 0.6),
        (states.RUNNING, 0.6),
        (states.SUCCESS, 0.7),
    )
    fd.add(retry)
    call = stamped(
        TaskDetail("call"),
        (states.RUNNING, 0.2),
        (states.FAILURE, 0.5),
        (states.REVERTING, 0.5),
        (states.REVERTED, 0.55),
        (states.PENDING, 0.55),
        (states.RUNNING, 0.7),
        (states.FAILURE, 0.9),
        (states.REVERTING, 0.9),
        (states.REVERTED, 0.95),
        (states.PENDING, 0.95),
        (states.RUNNING, 1.0),
        (states.SUCCESS, 1.5),
    )
    fd.add(call)
    run = flow_run(fd)
    assert (run.start, run.end) == (T0 + 0.1, T0 + 2.0)
    assert run.retried
    by_name = {a.name: a for a in run.atoms}
    segs = by_name["call"].segments
    assert [(s.kind, s.attempt) for s in segs] == [
        ("failure", 1),
        ("revert", 1),
        ("failure", 2),
        ("revert", 2),
        ("retry", 3),
    ]
    assert [s.note for s in segs if s.kind == "failure"] == [
        "ConnectionError: first try",
        "ConnectionError: second try",
    ]
    assert by_name["call"].executions == 3
    assert [s.kind for s in by_name["again"].segments] == ["execute", "retrying", "retry"]
    assert [a.name for a in run.atoms] == ["again", "call"], "atoms ordered by first start"
    assert run.failure == "ConnectionError: first try"


def test_an_execution_that_never_ended_is_drawn_as_interrupted_up_to_the_flow_end():
    fd = recorded_flow(state=states.RUNNING)
    fd.add(stamped(TaskDetail("cut"), (states.RUNNING, 0.3)))
    fd.add(stamped(TaskDetail("done"), (states.RUNNING, 0.1), (states.SUCCESS, 0.2)))
    fd.add(TaskDetail("never"))  # no stamps: never ran (or written without times)
    run = flow_run(fd)
    cut = next(a for a in run.atoms if a.name == "cut")
    (seg,) = cut.segments
    assert (seg.kind, seg.end) == ("interrupted", T0 + 2.0)
    assert run.atoms[-1].name == "never" and run.atoms[-1].segments == ()


def test_revert_failure_is_its_own_segment_with_its_exception():
    fd = recorded_flow(state=states.FAILURE)
    detail = stamped(
        TaskDetail("undo"),
        (states.RUNNING, 0.1),
        (states.SUCCESS, 0.2),
        (states.REVERTING, 0.3),
        (states.REVERT_FAILURE, 0.4),
    )
    detail.revert_failure = failure("cannot undo")
    fd.add(detail)
    run = flow_run(fd)
    assert [(s.kind, s.note) for s in run.atoms[0].segments] == [
        ("execute", ""),
        ("revert-failure", "ConnectionError: cannot undo"),
    ]
    assert run.failure == "ConnectionError: cannot undo"


def test_records_without_times_read_as_runs_with_no_times():
    fd = FlowDetail("old")
    fd.add(TaskDetail("a"))
    run = flow_run(fd)
    assert (run.start, run.end, run.seconds) == (None, None, None)
    page = render_timeline([run, run], "sqlite:///x.db")
    assert "hold no timestamps" in page


def _batch(n: int) -> list:
    runs = []
    for i in range(n):
        state = states.REVERTED if i % 10 == 3 else states.SUCCESS
        fd = recorded_flow(f"flow-{i}", state)
        fd.meta[TRANSITIONS_META] = [[states.RUNNING, T0 + i], [state, T0 + i + 1.9]]
        fd.add(stamped(TaskDetail("a"), (states.RUNNING, i), (states.SUCCESS, i + 1)))
        fd.add(stamped(TaskDetail("b"), (states.RUNNING, i + 0.5), (states.SUCCESS, i + 1.9)))
        runs.append(flow_run(fd))
    return runs


def test_a_large_batch_is_sampled_with_every_outcome_and_a_note():
    runs = _batch(2000)
    chosen, note = sample_runs(runs, DEFAULT_MAX_FLOWS)
    assert len(chosen) == DEFAULT_MAX_FLOWS
    assert {r.state for r in chosen} == {states.SUCCESS, states.REVERTED}
    assert [r.start for r in chosen] == sorted(r.start for r in chosen)
    assert note.startswith(f"Showing {DEFAULT_MAX_FLOWS} of 2,000 flows")
    page = render_timeline(runs, "postgresql://app:s3cret@db/flows")
    assert page.count('<div class="flow"') == DEFAULT_MAX_FLOWS
    assert page.count('class="atom-row"') == 2 * DEFAULT_MAX_FLOWS
    assert "s3cret" not in page and "app:***@db" in page
    assert sample_runs(runs[:5], DEFAULT_MAX_FLOWS) == (runs[:5], "")


def test_the_overview_peaks_are_the_flows_and_atoms_really_in_flight():
    # Flow i runs [i, i + 1.9]: at most two overlap. Its atoms a [i, i+1] and b [i+.5, i+1.9]
    # overlap the previous flow's b until i + .9: three at once, never four.
    page = render_timeline(_batch(50), "sqlite:///x.db")
    peaks = dict(re.findall(r'<g class="chart ([a-z-]+)" data-peak="(\d+)"', page))
    assert peaks == {"flows-in-flight": "2", "atoms-running": "3"}


def test_the_page_is_self_contained():
    page = render_timeline(_batch(3), "sqlite:///x.db")
    assert "<script" not in page
    without_namespace = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in without_namespace and "https://" not in without_namespace
    assert "src=" not in page and "<link" not in page


def test_a_flow_still_running_is_in_flight_until_the_last_thing_recorded():
    runs = []
    for name, state, start, end in (("done", states.SUCCESS, 0, 1), ("late", states.SUCCESS, 3, 4)):
        fd = FlowDetail(name)
        fd.state = state
        fd.meta[TRANSITIONS_META] = [[states.RUNNING, T0 + start], [state, T0 + end]]
        runs.append(flow_run(fd))
    cut = FlowDetail("cut")
    cut.state = states.RUNNING
    cut.meta[TRANSITIONS_META] = [[states.RUNNING, T0 + 0.5]]
    runs.append(flow_run(cut))
    page = render_timeline(runs, "sqlite:///x.db")
    peaks = dict(re.findall(r'<g class="chart ([a-z-]+)" data-peak="(\d+)"', page))
    assert peaks["flows-in-flight"] == "2", "'cut' overlaps 'late' though nothing of it was recorded then"

"""The group-commit writer on each hub: a round's engines are woken in slices under green hubs.

A round that wakes hundreds of engines would otherwise make them all ready at
once, and each runs its next steps before the hub gets back to its timers.
"""

from __future__ import annotations

import itertools
from typing import Any

from greenflow.hubs import Hub
from greenflow.persistence import fetch_backend
from greenflow.persistence._writer import WAKE_SLICE, GroupWriter, WriteGroup


def test_a_round_wakes_its_engines_in_slices_with_the_hub_running_between(hub: Hub, tmp_path: Any) -> None:
    backend = fetch_backend(f"dir://{tmp_path}/store")
    order: list[str] = []

    count = 2 * WAKE_SLICE + 10
    # Under a green hub the writer first runs when this green thread waits: one round of all.
    writer = GroupWriter(backend, hub)  # type: ignore[arg-type]
    tickets = [writer.submit(WriteGroup(flow_uuid=f"g{i}")) for i in range(count)]
    for i, ticket in enumerate(tickets):
        ticket.add_done_callback(lambda _error, i=i: order.append(f"woke {i}"))

    def timers() -> None:  # a green thread on a timer: how often the hub ran it meanwhile
        while len([o for o in order if o.startswith("woke")]) < count:
            order.append("timer")
            hub.sleep(0.0001)

    handle = hub.spawn(timers)
    for ticket in tickets:
        ticket.wait(hub)
    handle.join(5)
    woken = [k for k, o in enumerate(order) if o.startswith("woke")]
    assert len(woken) == count
    between = [order[a + 1 : b] for a, b in itertools.pairwise(woken) if b != a + 1]
    if hub.is_green:
        # The timer green thread ran between the slices, and only there.
        assert writer.rounds == 1
        assert len(between) == count // WAKE_SLICE
        before_gaps = [order[a] for a, b in itertools.pairwise(woken) if b != a + 1]
        assert before_gaps == [f"woke {WAKE_SLICE - 1}", f"woke {2 * WAKE_SLICE - 1}"]
        assert all(set(gap) == {"timer"} for gap in between)
    else:  # the writer is a thread: it wakes every engine of the round in one go
        assert writer.rounds >= 1

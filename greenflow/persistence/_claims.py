"""Claim owners: who runs a flow detail, and whether a recorded owner is gone.

A claim says "this flow detail is being run by ``owner``" so that a second
engine resuming the same flow is refused. Owners made by ``make_owner()``
read ``host:pid:tag``; a claim whose owner ran on this host in a process
that no longer exists may be broken (``owner_is_stale``). Claims by owners
on other hosts, or in any other format, are never broken automatically:
``release_flow(flow_uuid, owner)`` with the recorded owner drops them (an
operator's decision).
"""

from __future__ import annotations

import os
import socket
import uuid

from greenflow.exceptions import StaleFenceError, StorageError

__all__ = ["claim_refused", "fence_passed", "make_owner", "owner_is_stale"]


def make_owner(tag: str | None = None) -> str:
    """An owner string for this process: ``host:pid:tag`` (a random tag unless given)."""
    return f"{socket.gethostname()}:{os.getpid()}:{tag or uuid.uuid4().hex}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists but is not ours to signal; otherwise we cannot tell
        return True
    return True


def owner_is_stale(owner: str) -> bool:
    """True when ``owner`` names a process of this host that no longer runs."""
    host, sep, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if not sep or host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    # Another engine of this very process is alive by definition.
    return pid > 0 and pid != os.getpid() and not _pid_alive(pid)


def claim_refused(flow_uuid: str, holder: str | None, owner: str) -> StorageError | None:
    """Why ``owner`` may not claim the flow detail ``holder`` holds, or ``None`` if it may.

    It may when nobody holds it, when it holds it itself, or when the holder is
    a process of this host that has exited (its claim is broken).
    """
    if holder is None or holder == owner or owner_is_stale(holder):
        return None
    return StorageError(f"flow detail {flow_uuid} is already claimed by {holder} (claim asked by {owner})")


def fence_passed(where: str, name: str, token: int, held: int) -> StaleFenceError:
    """The error of a write fenced on ``name`` with ``token`` that the higher ``held`` has passed."""
    return StaleFenceError(
        f"{where}: write refused: fence {name} was passed by token {held}, this writer holds {token}",
        fence=name,
        token=token,
        current=held,
    )

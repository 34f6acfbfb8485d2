"""The sans-IO runtime: outcomes in, decisions out.

``Runtime`` never calls user code that does work and never waits. The engine
gives it an outcome ("atom 7 finished with this value", "atom 3's revert
failed") and gets back the actions to start next (execute or revert an atom
with these arguments). Each atom's predecessors are counted down as they
finish, so one transition costs O(its edges), never a scan of the graph.

It touches no persistence model and no backend: it reads the recorded run
once, when it starts, and reports every transition to a ``Recorder``
(``greenflow.storage._recorder``, implemented by ``Storage``). The actions
it returns depend on the transitions it recorded while deciding them: its
driver starts them only once ``recorder.commit()`` says those are durable
(the recorder seam's contract), so a recorder may acknowledge them later.

What happens after a failure (TaskFlow's documented semantics):

* running atoms finish first (nothing new starts);
* then, per failure, the innermost retry whose flow holds the failed atom
  is asked (``on_failure``): ``RETRY`` reverts that flow and runs it again;
  ``REVERT`` asks the enclosing retry in turn, and with none left reverts
  only that flow (or everything, with ``defer_reverts``): the other flows
  go on, and the run ends REVERTED raising that failure; ``REVERT_ALL`` and
  a failure outside any retry revert every atom that ran; reverting a
  retry's flow reverts what follows it too (it may have used the flow's
  results), and running the flow again runs that again;
* a retried flow starts afresh: its atoms, what its deciders ignored, and
  the history of the retries nested in it (a reverted retry forgets it);
* ``never_resolve`` skips all of that: the flow ends in FAILURE at once;
* a revert that raises stops the reverting (atoms before it keep their
  state) and the flow ends in FAILURE, raising the revert failures.

Reverts run in reverse dependency order: an atom is reverted once every
atom after it has been.

Resuming from storage (a run that is not brand new):

* a flow that had ended (REVERTED, FAILURE) runs again: what succeeded is
  kept, every other atom runs again;
* a flow that was interrupted (the process died, or it was suspended; or
  its records were written before its first run, its state PENDING) goes
  on from where it was. Finished atoms are kept; atoms left RUNNING run
  again. An atom left in FAILURE before any revert was decided failed: its
  failure is decided now, as if it had just happened (its retry is asked,
  and so on). An interrupted revert is continued, not undone: the
  intentions a revert records (REVERT on each atom of the reverted flow,
  RETRY on the retry that runs it again) say which atoms it covered; a
  retry's RETRY covers every atom of its flow. Those in SUCCESS, FAILURE,
  REVERT_FAILURE or REVERTING (cut off mid-revert) are reverted, in reverse
  dependency order; REVERTED ones are not reverted twice; none of them runs
  again. A retry whose flow was being reverted then runs that flow again,
  with its history; one left RETRYING (cut off while restarting its flow)
  runs it again straight away, every atom of it from PENDING. The execute
  failures recorded on atoms reverted for good (those the flow no longer
  has included) are what the run raises at the end (rebuilt from storage:
  ``RemoteFailureError`` unless the backend kept the live exception).

What storage cannot say, a resumed run does not know: the exception of a
retry controller's ``on_failure`` (a REVERT_ALL forced by it is continued,
but its exception is not raised again), the order the failures happened in
(they are raised in the flow's order), and vetoes that deciders outside a
retried flow gave to atoms inside it (its atoms are decided again). The
intentions of a revert are written atom by atom when it starts: a process
killed while writing them resumes from those written. The flow's own state
stays RUNNING during a revert (its notifications go RUNNING -> REVERTED, as
TaskFlow's do), so the atoms' intentions are the record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableSequence, Sequence
from functools import partial
from typing import Any, Final, TypeVar

from greenflow import states
from greenflow.atoms import Action, ActionKind, Decision, History
from greenflow.compiler import ARG_FROM_ATOM, ARG_FROM_INJECT, JOIN, RETRY, CompiledFlow
from greenflow.exceptions import NotFoundError
from greenflow.failure import Failure
from greenflow.patterns import Depth
from greenflow.storage import Recorder

__all__ = ["INTERRUPTED_FLOW_STATES", "Runtime"]

_EXECUTE: Final = ActionKind.EXECUTE
_REVERT: Final = ActionKind.REVERT
# ``new_action((kind, node, atom, kwargs))`` is ``Action(kind, node, atom, kwargs)`` without the
# Python-level ``__new__`` frame: half the cost, and one is made per atom run.
new_action: Final = partial(tuple.__new__, Action)

_DONE_FORWARD: Final = frozenset({states.SUCCESS, states.IGNORE})
# REVERTING: only a resumed run finds an atom there before reverting it (cut off mid-revert).
_NEEDS_REVERT: Final = frozenset({states.SUCCESS, states.FAILURE, states.REVERT_FAILURE, states.REVERTING})
_REVERT_INTENTIONS: Final = frozenset({states.REVERT, states.RETRY})
# How far a decider's "no" reaches: of several, the widest is followed.
_WIDTH: Final = {Depth.ATOM: 0, Depth.NEIGHBORS: 1, Depth.FLOW: 2, Depth.ALL: 3}
#: Flow states of a run that did not end: its revert, if any, is continued. PENDING too: a
#: flow whose records were written before its first run (by hand, or by TaskFlow's tools) is
#: taken as they say.
INTERRUPTED_FLOW_STATES: Final = frozenset(
    {states.PENDING, states.RUNNING, states.REVERTING, states.SUSPENDING, states.SUSPENDED, states.RESUMING}
)

# Phases of a run.
_FORWARD: Final = 0
_HALTING: Final = 1  # a failure happened: let running atoms finish, start nothing
_REVERTING: Final = 2
_FINISHED: Final = 3


class _Revert:
    """One revert region: the nodes to revert and what to do once they are."""

    __slots__ = ("members", "retry", "then_retry", "waiting")

    def __init__(self, members: set[int], retry: int, then_retry: bool) -> None:
        self.members = members
        self.waiting: dict[int, int] = {}
        self.retry = retry
        self.then_retry = then_retry


T = TypeVar("T")


_NOTHING: Final[frozenset[str]] = frozenset()


def _appended(items: list[T] | tuple[()], item: T) -> list[T]:
    """``items`` with ``item`` at the end: the same list, or a new one for the shared empty tuple."""
    if isinstance(items, tuple):
        return [item]
    items.append(item)
    return items


def _extended(items: list[T] | tuple[()], more: Iterable[T]) -> list[T]:
    """``items`` with ``more`` at the end: the same list, or a new one for the shared empty tuple."""
    if isinstance(items, tuple):
        return list(more)
    items.extend(more)
    return items


class Runtime:
    """Drives one flow run: decides which atoms to execute or revert, and when it is over."""

    # One runtime per engine in flight: slots, not a dict of some thirty attributes.
    __slots__ = (
        "_abandoned",
        "_actions",
        "_atom_of",
        "_atoms",
        "_check_results",
        "_defer_reverts",
        "_end_state",
        "_failed",
        "_failure",
        "_given_up",
        "_graph",
        "_history",
        "_ignored",
        "_injected_over",
        "_intention",
        "_never_resolve",
        "_nodes",
        "_notify",
        "_parked",
        "_recorder",
        "_region_of",
        "_regions",
        "_restarted",
        "_to_retry",
        "_vetoes",
        "_waiting",
        "_work",
        "_work_head",
        "executed",
        "failures",
        "phase",
        "reverted",
        "running",
        "state",
        "suspending",
        "values",
    )

    def __init__(
        self,
        compiled: CompiledFlow,
        recorder: Recorder,
        notify: Callable[[int, str, str, Any], None] | None,
        defer_reverts: bool = False,
        never_resolve: bool = False,
        fresh: bool = False,
        interrupted: bool = False,
        *,
        atoms: Sequence[Any],
    ) -> None:
        self._graph = compiled
        self._nodes = compiled.nodes
        # The flow's own atoms, aligned with the (shared) graph's nodes.
        self._atoms = atoms
        self._recorder = recorder
        # A recorder that writes through must be able to store every result: check each once.
        self._check_results = recorder.checks_results
        self._notify = notify
        self._defer_reverts = defer_reverts
        self._never_resolve = never_resolve
        n = len(compiled.nodes)
        self.state: list[str] = [states.PENDING] * n
        self.values: list[Any] = [None] * n
        # What the run knows of each atom beyond its state: its execute failure, and a
        # retry's history ``[(result, {atom name: Failure})]`` (the recorder keeps both too).
        self._failure: dict[int, Failure] = {}  # (a dict: left empty, the collector skips it)
        # (Histories are made when a retry first runs or is loaded: most flows have none.)
        self._history: dict[int, list[tuple[Any, dict[str, Failure]]]] = {}
        # The REVERT and RETRY intentions recorded (what a resumed run continues from).
        self._intention: dict[int, str] = {}
        # Counters as bytes where they fit (nearly always): a bytearray is not an object the
        # collector scans, a list is (and an engine in flight is some fifty it scans).
        self._waiting: MutableSequence[int]
        self._ignored: MutableSequence[int]  # how many deciders said no to each node
        if compiled.small_counts:
            self._waiting, self._ignored = bytearray(compiled.indegrees), bytearray(n)
        else:
            self._waiting, self._ignored = list(compiled.indegrees), [0] * n
        # What each decider node ignored
        # (a retry that runs its flow again withdraws the vetoes given inside it).
        self._vetoes: dict[int, list[tuple[int, ...]]] = {}
        self.running = 0
        self.phase = _FORWARD
        self.suspending = False
        # The lists below stay the shared empty tuple until something goes wrong: most runs
        # never fail, and each list is an object the garbage collector scans, per engine.
        self._failed: list[int] | tuple[()] = ()  # atoms whose failure is not yet resolved
        #: ``(atom, state it was in)``: atoms a resumed retry's restart sends back to PENDING,
        #: recorded and reported when the run starts (once the flow is RUNNING, as a restart is).
        self._restarted: list[tuple[int, str]] | tuple[()] = ()
        self._regions: list[_Revert] | tuple[()] = ()
        self._region_of: dict[int, _Revert] = {}
        self._end_state = states.SUCCESS
        self.failures: list[Failure] | tuple[()] = ()  # what the run raises, in order
        self._atom_of: dict[int, str] = {}  # id(failure) -> the atom it is the failure of
        self._actions: list[Action] | tuple[()] = ()  # what to start next (see _take)
        # Nodes made ready, to start (or revert) in order: ``_work[_work_head:]``. A list read
        # from an index, not a deque: an engine in flight keeps it, and a deque's first block
        # alone is some 700 bytes.
        self._work: list[int] = []
        self._work_head = 0
        # Nodes made ready while forward progress was stopped by a failure: started
        # when a retry resumes it, unless their flow was reverted for good.
        self._parked: list[int] | tuple[()] = ()
        self._abandoned = bytearray(n)
        self._to_retry: list[int] | tuple[()] = ()
        # Failures whose flow was reverted without a retry while other flows go on
        # (REVERT with no enclosing retry): the run ends REVERTED and raises them.
        self._given_up: list[Failure] | tuple[()] = ()
        self.executed = 0
        self.reverted = 0
        # Symbols atoms provide that are also injected (store=, storage.inject()) when the run
        # starts: the injected value is what every atom gets (TaskFlow's scoping rule).
        over = frozenset(symbol for symbol in compiled.providers if recorder.lookup_injected(symbol)[0])
        self._injected_over = over or _NOTHING  # (nearly always nothing: one object fewer per engine)
        if not fresh:  # a brand-new run has nothing recorded to take over
            self._load_states(interrupted)

    # -- set-up ---------------------------------------------------------------------------

    def _load_states(self, interrupted: bool) -> None:
        """Take the states recorded in storage (a resumed run keeps what finished).

        ``interrupted``: the run did not end (see the module docstring), so a
        revert it recorded is continued, a retry cut off while restarting its
        flow restarts it, and a failure no revert was decided for yet is
        resolved now; otherwise the revert is over and its intentions are
        forgotten.
        """
        nodes, state, waiting = self._nodes, self.state, self._waiting
        recorder, history = self._recorder, self._history
        recorded = recorder.recorded()
        # The flows of retries that had decided to run them again (RETRY): their atoms are
        # that revert's, whatever their own intention says; and of retries cut off while
        # restarting their flow (RETRYING): their atoms run again, from PENDING.
        retried: set[int] = set()
        restarting: set[int] = set()
        if interrupted:
            for i in self._graph.atoms:
                record = recorded[i]
                assert record is not None
                if nodes[i].kind == RETRY:
                    if record.intention == states.RETRY:
                        retried.update(self._revert_region(i))
                    elif record.state == states.RETRYING:
                        restarting.update(nodes[i].scope)
            restarting -= retried
        done: list[int] = []
        reverting: list[int] = []  # atoms a revert of the interrupted run covers
        retrying: list[int] = []  # retries whose flow was being reverted, to run it again
        for i in self._graph.atoms:
            record = recorded[i]
            assert record is not None
            s = state[i] = record.state
            if record.failure is not None:
                self._failure[i] = record.failure
            if nodes[i].kind == RETRY:
                attempts = history[i] = [(res, dict(fails)) for res, fails in record.results or ()]
                self.values[i] = attempts[-1][0] if attempts else None
            else:
                self.values[i] = record.results
            intention = record.intention
            if i in restarting:
                # Its retry restarts the flow: it runs again, whatever the revert left.
                if s != states.PENDING:
                    self.values[i] = None
                    self._failure.pop(i, None)
                    state[i] = states.PENDING
                    self._restarted = _appended(self._restarted, (i, s))
                elif intention != states.EXECUTE:
                    recorder.record_intention(i, states.EXECUTE)
                continue
            kept = i in retried or (interrupted and intention in _REVERT_INTENTIONS)
            if kept and i not in retried:
                (retrying if intention == states.RETRY else reverting).append(i)
                self._intention[i] = intention
            elif not kept and intention in _REVERT_INTENTIONS and (s in _DONE_FORWARD or s == states.PENDING):
                recorder.record_intention(i, states.EXECUTE)  # the revert is over
            if s in _DONE_FORWARD:
                done.append(i)
            elif kept:
                pass  # reverted, or still to revert; never run again
            elif interrupted and s == states.FAILURE:
                # It failed and the run was cut off before deciding what to do: decide now.
                failure = self._failure.get(i)
                if failure is not None:
                    self._atom_of[id(failure)] = nodes[i].name
                self._failed = _appended(self._failed, i)
            elif interrupted and s == states.RETRYING:
                pass  # a retry restarting its flow: it runs again with its history (``start``)
            elif s != states.PENDING:
                # Interrupted mid-run, or finished badly: run it again (an intention
                # left by an ended revert is forgotten with the rest).
                self._reset(i, states.PENDING)
        for i, node in enumerate(nodes):
            # A join is passed once everything before it is done (its preds are atoms).
            if node.kind == JOIN and node.preds and all(state[p] in _DONE_FORWARD for p in node.preds):
                state[i] = states.SUCCESS
                done.append(i)
        for i in done:
            for succ in nodes[i].succs:
                waiting[succ] -= 1
        if reverting or retrying:
            self._resume_reverts(reverting, retrying)

    def _resume_reverts(self, reverting: list[int], retrying: list[int]) -> None:
        """Continue the reverts of an interrupted run (``_load_states`` found their intentions).

        Each retry to run again gets its flow back as a region; everything
        else that was to be reverted is one region, reverted for good: its
        atoms never run again, and their failures are what the run raises.
        The regions start at once, or, when failures are still to be decided
        (``_failed``), together with the regions those decide.
        """
        nodes, state = self._nodes, self.state
        in_retried: set[int] = set()
        for r in retrying:
            in_retried.update(self._revert_region(r))
        for i in reverting:
            if i in in_retried:
                continue
            self._abandoned[i] = 1
            failure = self._failure.get(i)
            if failure is not None:
                self._atom_of[id(failure)] = nodes[i].name
                self._given_up = _appended(self._given_up, failure)
        if any(i not in in_retried for i in reverting):
            # Atoms the flow no longer has may be what failed: the revert is theirs too.
            for name, failure in self._recorder.departed_failures():
                self._atom_of[id(failure)] = name
                self._given_up = _appended(self._given_up, failure)
        self.failures = list(self._given_up)
        if not retrying and not any(state[i] in _NEEDS_REVERT for i in reverting):
            return  # every revert was over: the run goes on forward
        for r in retrying:
            self._add_region(_Revert(self._revert_region(r), r, True))
        # Joins and ignored atoms have no intention recorded but pass the revert order on.
        members = {i for i in reverting if i not in in_retried}
        members.update(
            i
            for i, node in enumerate(nodes)
            if i not in in_retried and (node.kind == JOIN or state[i] == states.IGNORE)
        )
        if any(state[i] in _NEEDS_REVERT for i in members):
            self._add_region(_Revert(members, -1, False))
        if self._failed:
            return  # started by _resolve_failures, with the regions the failures make
        self.phase = _REVERTING
        for region in tuple(self._regions):
            self._start_region(region)

    def start(self) -> list[Action]:
        """The first actions of a (possibly resumed) run."""
        state, waiting, abandoned = self.state, self._waiting, self._abandoned
        for i, was in self._restarted:
            self._recorder.record_reset(i, states.PENDING)
            if self._notify is not None:
                self._notify(i, states.PENDING, was, None)
        self._restarted = ()
        # RETRYING: a resumed retry that was restarting its flow runs again from there.
        ready = [
            i
            for i in range(len(self._nodes))
            if (state[i] == states.PENDING or state[i] == states.RETRYING) and waiting[i] == 0
        ]
        if self._failed and self.phase == _FORWARD:
            self.phase = _HALTING  # failures recorded before the run was cut off are decided first
        if self.phase == _FORWARD:
            self._work.extend(i for i in ready if not abandoned[i])
        else:  # a resumed revert comes first; a retry may resume forward progress after it
            self._parked = _extended(self._parked, ready)
        self._advance()
        return self._take()

    # -- outcomes ---------------------------------------------------------------------------

    def executed_ok(self, i: int, value: Any) -> list[Action]:
        """Atom ``i``'s execute returned ``value`` (recorded before any successor starts)."""
        if self._check_results:
            unstorable = self._recorder.unstorable(i, value)
            if unstorable is not None:
                return self.executed_failed(i, unstorable)
        self.running -= 1
        self.executed += 1
        self.values[i] = value
        if self._nodes[i].kind == RETRY:
            self._history.setdefault(i, []).append((value, {}))
        self._recorder.record_result(i, value)
        # What _changed() does, inline: this is the path of every atom.
        state = self.state
        old, state[i] = state[i], states.SUCCESS
        if self._notify is not None:
            self._notify(i, states.SUCCESS, old, value)
        # Count down the successors even while halting: a retry may resume the run.
        self._finish_forward(i)
        self._advance()
        return self._take()

    def executed_failed(self, i: int, failure: Failure) -> list[Action]:
        """Atom ``i``'s execute raised (or its arguments could not be found)."""
        self.running -= 1
        self.executed += 1
        self._fail(i, failure)
        self._advance()
        return self._take()

    def reverted_ok(self, i: int, value: Any) -> list[Action]:
        """Atom ``i``'s revert returned ``value``.

        A reverted retry forgets its history, so that when an enclosing retry
        runs its flow again it starts with a fresh set of attempts. A value the
        recorder cannot store makes it a revert failure (recorded, not a save
        that breaks in the middle of the revert).
        """
        if self._check_results and value is not None:
            unstorable = self._recorder.unstorable(i, value)
            if unstorable is not None:
                return self.reverted_failed(i, unstorable)
        self.running -= 1
        self.reverted += 1
        if i in self._history:
            self._history[i] = []
        self._recorder.record_reverted(i, value)
        self._changed(i, states.REVERTED, value)
        self._revert_done(i)
        self._advance()
        return self._take()

    def reverted_failed(self, i: int, failure: Failure) -> list[Action]:
        """Atom ``i``'s revert raised: the flow will end in FAILURE.

        The run then raises the revert failures only (as TaskFlow does); the
        execute failures that caused the revert stay in storage.
        """
        self.running -= 1
        self.reverted += 1
        self._recorder.record_revert_failure(i, failure)
        self._atom_of[id(failure)] = self._nodes[i].name
        self._changed(i, states.REVERT_FAILURE, failure)
        self.failures = [failure] if self._end_state != states.FAILURE else _appended(self.failures, failure)
        self._end_state = states.FAILURE
        # Nothing before this atom may be reverted now: stop at the running ones.
        self._regions = ()
        self._region_of.clear()
        self._to_retry = ()
        self._advance()
        return self._take()

    def failure_atoms(self) -> list[str | None]:
        """The name of the atom of each of ``failures``, in order."""
        atom_of = self._atom_of
        return [atom_of.get(id(failure)) for failure in self.failures]

    @property
    def finished(self) -> bool:
        """Whether the run is over (nothing running, nothing left to do)."""
        return self.phase == _FINISHED

    @property
    def reverting(self) -> bool:
        """Whether the run is reverting atoms (a run cut off now is to continue that revert)."""
        return self.phase == _REVERTING

    @property
    def end_state(self) -> str:
        """The flow's final state (valid once ``finished``)."""
        return self._end_state

    def suspend(self) -> None:
        """Start nothing new; finish as SUSPENDED once running atoms are done.

        That holds for reverts too: a revert in progress stops with the atoms
        reverting now (a failure that happened is still decided first, its
        intentions recorded), and resuming the flow continues it, as it does
        after a crash.
        """
        self.suspending = True

    def _advance(self) -> None:
        """Run the state machine until it needs an outcome from the engine."""
        while True:
            phase = self.phase
            if phase == _FORWARD:
                self._drain()
                if self.phase == _FORWARD:
                    break
            elif phase == _HALTING:
                if self.running:
                    break
                self._resolve_failures()
            elif phase == _REVERTING:
                self._drain_revert()
                if self.phase == _REVERTING:
                    break
            else:
                break

    # -- forward --------------------------------------------------------------------------

    def _take(self) -> list[Action]:
        """The actions made ready since the last call (ending the forward run when there are none)."""
        actions = self._actions
        if isinstance(actions, list):
            self._actions = ()
            return actions
        if self.running == 0 and self.phase == _FORWARD:
            if self.suspending and self._has_pending():
                self._end_state = states.SUSPENDED
            else:
                self._end_state = states.REVERTED if self._given_up else states.SUCCESS
            self.phase = _FINISHED
        return []

    def _has_pending(self) -> bool:
        return any(s == states.PENDING for s in self.state)

    def _finish_forward(self, i: int) -> None:
        waiting, work = self._waiting, self._work
        for s in self._nodes[i].succs:
            waiting[s] -= 1
            if waiting[s] == 0:
                work.append(s)

    def _drain(self) -> None:
        """Start every node made ready (iteratively: ignores and joins cascade)."""
        work, nodes = self._work, self._nodes
        if self._work_head:
            del work[: self._work_head]
            self._work_head = 0
        if len(work) > 1:
            self._by_priority(work)
        while self._work_head < len(work):
            if self.phase != _FORWARD or self.suspending:
                self._park()
                return
            i = work[self._work_head]
            self._work_head += 1
            node = nodes[i]
            if node.kind == JOIN:
                self.state[i] = states.SUCCESS
                self._finish_forward(i)
                continue
            if self._ignored[i]:
                self._ignore(i)
                continue
            if node.deciders and not self._deciders_allow(i):
                if self.phase != _FORWARD:
                    return
                continue
            try:
                kwargs = self._arguments(i, node.args)
            except NotFoundError as exc:
                self._fail(i, Failure.from_exception(exc))
                return
            if node.kind == RETRY:
                kwargs["history"] = History(self._history.setdefault(i, []))
            self._recorder.record_state(i, states.RUNNING)
            old, self.state[i] = self.state[i], states.RUNNING  # _changed(), inline: every atom's path
            if self._notify is not None:
                self._notify(i, states.RUNNING, old, None)
            self.running += 1
            self._actions = _appended(self._actions, new_action((_EXECUTE, i, self._atoms[i], kwargs)))
        work.clear()  # all taken
        self._work_head = 0

    def _by_priority(self, work: list[int]) -> None:
        """Order the nodes made ready together by their atoms' ``priority``, highest first."""
        atoms = self._atoms
        ranks = [getattr(atoms[i], "priority", 0) for i in work]
        if any(ranks):
            order = sorted(range(len(ranks)), key=lambda k: -ranks[k])  # stable: ties keep their order
            work[:] = [work[k] for k in order]

    def _deciders_allow(self, i: int) -> bool:
        """Ask every decider guarding ``i``; on any "no", ignore what the widest "no" reaches.

        Each decider sees the results of all the guarding links' sources; a link
        whose sources were all ignored has no say.
        """
        nodes, values, state = self._nodes, self.values, self.state
        edges = nodes[i].deciders
        history: dict[str, Any] = {}
        for edge in edges:
            for s in edge.sources:
                if state[s] == states.SUCCESS:
                    history[nodes[s].name] = values[s]
        widest = None
        for edge in edges:
            if edge.sources and all(state[s] == states.IGNORE for s in edge.sources):
                continue
            try:
                allowed = bool(edge.decider(dict(history)))
            except Exception as exc:
                self._fail(i, Failure.from_exception(exc))
                return False
            if not allowed and (widest is None or _WIDTH[edge.depth] > _WIDTH[widest.depth]):
                widest = edge
        if widest is None:
            return True
        for j in widest.ignore:
            self._ignored[j] += 1
        self._vetoes.setdefault(i, []).append(widest.ignore)
        self._ignore(i)
        return False

    def _ignore(self, i: int) -> None:
        self._set_state(i, states.IGNORE, states.IGNORE)
        self._finish_forward(i)

    def _arguments(self, i: int, sources: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        values, state, injected_over = self.values, self.state, self._injected_over
        for src in sources:
            kind = src.kind
            if kind == ARG_FROM_ATOM:
                if injected_over and src.symbol in injected_over:
                    kwargs[src.arg] = self._recorder.lookup_injected(src.symbol)[1]
                    continue
                p, key = src.ref, src.key
                if state[p] != states.SUCCESS:
                    # A provider a decider ignored: an earlier provider of the symbol serves.
                    earlier = self._provider_before(p, src.symbol) if state[p] == states.IGNORE else None
                    if earlier is not None:
                        p, key = earlier
                    elif src.optional:
                        continue
                    else:
                        raise NotFoundError(
                            f"atom {self._nodes[i].name!r} requires {src.symbol!r} from atom "
                            f"{self._nodes[p].name!r}, which is {state[p]} and has no result"
                        )
                value = values[p]
                if key is not None:
                    try:
                        value = value[key]
                    except (KeyError, IndexError, TypeError) as exc:
                        raise NotFoundError(
                            f"atom {self._nodes[i].name!r} requires {src.symbol!r}, item {key!r} of "
                            f"atom {self._nodes[p].name!r}'s result {value!r}, which has no such item"
                        ) from exc
                kwargs[src.arg] = value
            elif kind == ARG_FROM_INJECT:
                kwargs[src.arg] = self._atoms[i].inject[src.ref]
            else:
                found, value = self._recorder.lookup_injected(src.symbol)
                if found:
                    kwargs[src.arg] = value
                elif not src.optional:
                    raise NotFoundError(
                        f"atom {self._nodes[i].name!r} in flow {self._recorder.flow_name!r} requires "
                        f"{src.symbol!r}, which nothing provides or injects"
                    )
        return kwargs

    def _provider_before(self, p: int, symbol: str) -> tuple[int, Any] | None:
        """``(atom, key)``: the nearest atom before ``p`` that provides ``symbol`` and succeeded.

        What an atom whose provider was ignored by a decider gets, as in TaskFlow: the
        value of the symbol from further up (``None`` if no earlier atom has one).
        """
        nodes, state = self._nodes, self.state
        seen = {p}
        level = [p]
        while level:
            following: list[int] = []
            for u in level:
                for q in nodes[u].preds:
                    if q not in seen:
                        seen.add(q)
                        following.append(q)
            for q in following:
                if state[q] == states.SUCCESS:
                    for provided, key in nodes[q].save_as:
                        if provided == symbol:
                            return q, key
            level = following
        return None

    # -- failure --------------------------------------------------------------------------

    def _fail(self, i: int, failure: Failure) -> None:
        self._failure[i] = failure
        self._atom_of[id(failure)] = self._nodes[i].name
        self._recorder.record_failure(i, failure)
        self._changed(i, states.FAILURE, failure)
        self._failed = _appended(self._failed, i)
        if self.phase == _FORWARD:
            self.phase = _HALTING
        self._park()

    def _park(self) -> None:
        work, head = self._work, self._work_head
        if head < len(work):
            self._parked = _extended(self._parked, work[head:] if head else work)
        work.clear()
        self._work_head = 0

    def _resolve_failures(self) -> None:
        self._park()
        failed, self._failed = self._failed, ()
        for i in failed:
            failure = self._failure.get(i)
            if failure is not None:
                self.failures = _appended(self.failures, failure)
        if self._never_resolve:
            self._end_state = states.FAILURE
            self.phase = _FINISHED
            return
        targets: dict[int, bool] = {}  # retry index (-1: everything) -> retry afterwards?
        for i in failed:
            target, again = self._decide(i)
            if target == -1:
                targets = {-1: False}
                break
            targets[target] = targets.get(target, False) or again
        # Regions of a resumed revert not started yet (none in a run that was not cut off).
        resumed: Sequence[_Revert] = self._regions
        self._regions = ()
        if -1 in targets:
            region = _Revert(set(range(len(self._nodes))), -1, False)
            self._regions = [region]
        else:
            # An outer retry's region holds the inner ones: keep the outermost only.
            chosen = [r for r in targets if not any(o != r and r in self._nodes[o].scope for o in targets)]
            for r in chosen:
                members = self._revert_region(r)
                if not targets[r]:
                    members.add(r)
                self._add_region(_Revert(members, r, targets[r]))
            regions: Sequence[_Revert] = self._regions
            covered = set().union(*(region.members for region in regions), chosen)
            for region in resumed:
                if region.retry not in covered:  # else decided again, by the failures just resolved
                    self._add_region(region)
            regions = tuple(self._regions)  # (with the resumed ones)
            for i in failed:
                failure = self._failure.get(i)
                if failure is not None and any(
                    not region.then_retry and i in region.members for region in regions
                ):
                    self._given_up = _appended(self._given_up, failure)
        for region in self._regions:
            if not region.then_retry:
                for j in region.members:
                    self._abandoned[j] = 1
        self.phase = _REVERTING
        self._region_of = {}
        for region in tuple(self._regions):
            self._start_region(region)

    def _add_region(self, region: _Revert) -> None:
        """Add ``region``, without the nodes an earlier one holds (what follows two flows is in both)."""
        for other in self._regions:
            region.members -= other.members
        if region.members or region.then_retry:
            self._regions = _appended(self._regions, region)

    def _decide(self, i: int) -> tuple[int, bool]:
        """Return ``(retry index or -1 for everything, run that retry's flow again?)``."""
        failure = self._failure.get(i)
        r = self._nodes[i].retry
        while r != -1:
            decision = self._consult(r, self._nodes[i].name, failure)
            if decision is Decision.RETRY:
                return r, True
            if decision is Decision.REVERT_ALL:
                return -1, False
            parent = self._nodes[r].retry
            if parent == -1:
                return (-1, False) if self._defer_reverts else (r, False)
            r = parent
        return -1, False

    def _consult(self, r: int, atom_name: str, failure: Any) -> Decision:
        history = self._history.setdefault(r, [])
        if history:
            history[-1][1][atom_name] = failure
        else:
            history.append((None, {atom_name: failure}))
        self._recorder.record_retry_failure(r, atom_name, failure)
        node = self._nodes[r]
        try:
            kwargs = self._arguments(r, node.args)
            decision = self._atoms[r].on_failure(History(history, self._failure.get(r)), **kwargs)
            return Decision(decision)
        except Exception as exc:
            failure = Failure.from_exception(exc)
            self._atom_of[id(failure)] = node.name
            self.failures = _appended(self.failures, failure)
            return Decision.REVERT_ALL

    # -- revert ---------------------------------------------------------------------------

    def _start_region(self, region: _Revert) -> None:
        """Order the region's reverts, recording the intentions a resumed run continues from."""
        nodes, intention, record = self._nodes, self._intention, self._recorder.record_intention
        for i in region.members:
            self._region_of[i] = region
            region.waiting[i] = sum(1 for s in nodes[i].succs if s in region.members)
            if nodes[i].kind != JOIN and self.state[i] != states.IGNORE and intention.get(i) != states.REVERT:
                intention[i] = states.REVERT
                record(i, states.REVERT)
        if region.then_retry and intention.get(region.retry) != states.RETRY:
            intention[region.retry] = states.RETRY
            record(region.retry, states.RETRY)
        for i in region.members:
            if region.waiting[i] == 0:
                self._work.append(i)
        if not region.members:  # nothing of its own to revert (what it covers, another region holds)
            self._region_done(region)

    def _drain_revert(self) -> None:
        work, nodes, state = self._work, self._nodes, self.state
        while self._work_head < len(work) and not self.suspending:
            i = work[self._work_head]
            self._work_head += 1
            region = self._region_of.get(i)
            if region is None:
                continue
            if nodes[i].kind == JOIN or state[i] not in _NEEDS_REVERT:
                self._revert_done(i)
                continue
            node = nodes[i]
            try:
                kwargs = self._arguments(i, node.revert_args)
            except NotFoundError:
                kwargs = {}
            failure = self._failure.get(i)
            if node.kind == RETRY:
                kwargs["history"] = History(self._history.get(i, []), failure)
            else:
                kwargs["result"] = failure if failure is not None else self.values[i]
                kwargs["flow_failures"] = self._flow_failures()
            if state[i] != states.REVERTING:  # REVERTING: a resumed run reverts it again
                self._set_state(i, states.REVERTING)
            self.running += 1
            self._actions = _appended(self._actions, new_action((_REVERT, i, self._atoms[i], kwargs)))
        if self._work_head == len(work):
            work.clear()
            self._work_head = 0
        self._maybe_finish()

    def _flow_failures(self) -> dict[str, Failure]:
        out: dict[str, Failure] = {}
        failures, state, nodes = self._failure, self.state, self._nodes
        for i in self._graph.atoms:
            failure = failures.get(i)
            if failure is not None and state[i] != states.PENDING:
                out[nodes[i].name] = failure
        return out

    def _revert_done(self, i: int) -> None:
        region = self._region_of.pop(i, None)
        if region is None:
            return
        region.members.discard(i)
        for p in self._nodes[i].preds:
            if p in region.waiting and p in region.members:
                region.waiting[p] -= 1
                if region.waiting[p] == 0:
                    self._work.append(p)
        if not region.members:
            self._region_done(region)

    def _region_done(self, region: _Revert) -> None:
        self._regions.remove(region)  # type: ignore[union-attr]  # it holds region: a list
        if region.then_retry and self._end_state != states.FAILURE:
            self._to_retry = _appended(self._to_retry, region.retry)

    def _revert_region(self, r: int) -> set[int]:
        """The nodes retry ``r``'s revert covers: its flow's, and every node after them.

        What follows the flow may have used its results (or ran before them, in
        a resumed run): reverting the flow reverts it too, and running the flow
        again runs it again.
        """
        nodes = self._nodes
        region = set(nodes[r].scope)
        stack = [s for j in region for s in nodes[j].succs if s not in region]
        while stack:
            j = stack.pop()
            if j not in region:
                region.add(j)
                stack.extend(nodes[j].succs)
        return region

    def _restart_retry(self, r: int) -> None:
        nodes, state, waiting, ignored = self._nodes, self.state, self._waiting, self._ignored
        intention = self._intention
        intention.pop(r, None)
        self._set_state(r, states.RETRYING, states.EXECUTE)
        region = self._revert_region(r)
        for j in region:
            for ignore in self._vetoes.pop(j, ()):
                for k in ignore:
                    ignored[k] -= 1
        for j in region:
            if nodes[j].kind == JOIN:
                state[j] = states.PENDING
            elif state[j] != states.PENDING:
                self._reset(j, states.PENDING)
            elif intention.pop(j, None) == states.REVERT:
                self._recorder.record_intention(j, states.EXECUTE)
        # Count again what each node waits for (the retry runs again with its history; what
        # follows the flow, in the region too, counted its nodes down the first time).
        for k in region:
            waiting[k] = sum(1 for p in nodes[k].preds if state[p] not in _DONE_FORWARD)
        self._work.append(r)

    def _maybe_finish(self) -> None:
        if self.running or self._actions or self.phase != _REVERTING:
            return
        if self.suspending and self._end_state != states.FAILURE and (self._regions or self._to_retry):
            # Suspended mid-revert: the intentions recorded say what a resumed run continues.
            self._end_state = states.SUSPENDED
            self.phase = _FINISHED
            return
        if self._regions:
            return
        if self._to_retry and self._end_state != states.FAILURE:
            # Every region is reverted: the retried flows run again (the failures
            # of flows reverted for good are still raised at the end).
            self.failures = list(self._given_up)
            retries, self._to_retry = self._to_retry, ()
            for r in retries:
                self._restart_retry(r)
            parked, self._parked = self._parked, ()
            state, waiting, abandoned = self.state, self._waiting, self._abandoned
            self._work.extend(
                j for j in parked if state[j] == states.PENDING and waiting[j] == 0 and not abandoned[j]
            )
            self.phase = _FORWARD
            return
        self._end_state = states.FAILURE if self._end_state == states.FAILURE else states.REVERTED
        self.phase = _FINISHED

    # -- state changes ----------------------------------------------------------------------

    def _set_state(self, i: int, new: str, intention: str | None = None) -> None:
        """A transition without a result (RUNNING, REVERTING, IGNORE, RETRYING)."""
        self._recorder.record_state(i, new, intention)
        self._changed(i, new, None)

    def _reset(self, i: int, new: str) -> None:
        """Atom ``i`` runs again: its result, failure and intention are forgotten."""
        self.values[i] = None
        self._failure.pop(i, None)
        self._intention.pop(i, None)
        self._recorder.record_reset(i, new)
        self._changed(i, new, None)

    def _changed(self, i: int, new: str, result: Any) -> None:
        old = self.state[i]
        self.state[i] = new
        if self._notify is not None:
            self._notify(i, new, old, result)

"""``Engine``: runs one flow, recording every transition in its storage.

The call path of a task is short on purpose: ``Engine.run()`` drives
``run_iter()``, which asks the sans-IO ``Runtime`` what to start, calls
``invoke_atom()`` (inline for the serial engine, through an executor for the
parallel one) and feeds the outcome back. ``run_iter()`` never blocks inside
a step: when it has to wait for atoms running elsewhere, or for its
recorder to say that the transitions it recorded are durable (the recorder
seam, ``greenflow.storage._recorder``), it yields ``WAITING`` and lets its
caller wait (``run()`` waits through the hub). No atom starts before the
transitions it depends on are durable.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from greenflow import states
from greenflow.atoms import EVENT_UPDATE_PROGRESS, Action, ActionKind, AtomOutcome, invoke_atom
from greenflow.compiler import RETRY, CompiledFlow, bind_flow
from greenflow.engines._options import EngineOptions
from greenflow.engines._runtime import INTERRUPTED_FLOW_STATES, Runtime
from greenflow.exceptions import ClaimLostError, EngineStateError, MissingDependencyError, StorageError
from greenflow.executors import Starter, green_share, make_executor, shared_executor, starter_for
from greenflow.failure import Failure
from greenflow.hubs import Wakeup, resolve_hub
from greenflow.notifier import Notifier
from greenflow.persistence import AtomDetail, Backend, FlowDetail, make_owner, new_uuid
from greenflow.storage import PendingCommit, Storage

if TYPE_CHECKING:
    from greenflow.patterns import Flow

__all__ = ["WAITING", "Engine", "EngineStatistics"]

_LOG = logging.getLogger(__name__)

# Guards the "is this engine running?" test-and-set of every engine; held for
# a few bytecodes, so one lock serves all engines without contention.
_STATE_LOCK = threading.Lock()
# Flow details run by an engine of this process with no backend, by id: the claim of a run
# nothing records.
_LOCAL_RUNS: dict[int, Engine] = {}

#: Yielded by ``run_iter()`` when every runnable atom is running elsewhere.
WAITING: Final = "WAITING"
#: What ``run_iter(steps=True)`` also yields: before atoms are started, and once outcomes are taken in.
SCHEDULING: Final = "SCHEDULING"
ANALYZING: Final = "ANALYZING"

_EXECUTE: Final = ActionKind.EXECUTE
#: The steps of a run: flow states and ``WAITING`` (``str``), and, for ``run()``, the
#: ``Action`` of an atom to run inline, answered by sending its ``AtomOutcome`` back.
_Steps: TypeAlias = "Generator[Any, Any, None]"

_RESULT_STATES: Final = frozenset({states.SUCCESS, states.FAILURE, states.REVERTED, states.REVERT_FAILURE})


class _Arrivals(list[tuple[Action, Any]]):
    """The outcomes that arrived for an engine run, ``(action, raw)``; calling it adds one.

    It is the ``done`` callback its starter calls (from any thread), and the
    list the engine takes the outcomes from: one object per engine in flight
    where a closure over a list and a wakeup would be four.
    """

    __slots__ = ("_wakeup",)

    def __init__(self, wakeup: Any) -> None:
        super().__init__()
        self._wakeup = wakeup

    def __call__(self, action: Action, raw: Any) -> None:
        self.append((action, raw))
        self._wakeup.notify()


@dataclass(frozen=True, slots=True)
class EngineStatistics:
    """Counters of an engine, a snapshot."""

    runs: int
    atoms_executed: int
    atoms_reverted: int
    last_state: str


class Engine:
    """Runs a flow: ``compile()``, ``prepare()``, ``validate()``, then ``run()`` or ``run_iter()``.

    Each step calls the ones before it if needed, so ``run()`` alone is enough.
    ``notifier`` reports flow state changes, ``atom_notifier`` atom state
    changes and progress. ``storage`` holds results (``storage.fetch(name)``).
    """

    def __init__(
        self,
        flow: Flow,
        flow_detail: FlowDetail,
        backend: Backend | None,
        options: EngineOptions,
    ) -> None:
        self._flow = flow
        self.options = options
        self.storage = Storage(flow_detail, backend)
        self._notifier: Notifier | None = None
        self._suspend_asked = False
        self._atom_notifier: Notifier | None = None
        self._compiled: CompiledFlow | None = None
        self._atoms: tuple[Any, ...] = ()  # the flow's atoms, aligned with the graph's nodes
        self._details: list[AtomDetail | None] | None = None
        self._running = False
        self._runtime: Runtime | None = None
        self._runs = 0
        self._executed = 0
        self._reverted = 0
        self._hub_obj: Any = None
        self._wakeup: Any = None
        self._idle_wakeup: Wakeup | None = None
        self._owner: str | None = None
        # Atom "done" events held until their transition is durable (group commit).
        self._held_events: list[tuple[str, dict[str, Any]]] | None = None
        self._claimed = False
        self._steps = False
        self._top = False  # run() runs the inline atoms itself (see run())
        self._sink: Any = None  # the progress sink of the run under way

    # -- preparation ------------------------------------------------------------------------

    @property
    def notifier(self) -> Notifier:
        """Flow state changes: ``engine.notifier.register(state or ANY, callback)``."""
        if self._notifier is None:
            self._notifier = Notifier()  # made on first use: most engines have no listener
        return self._notifier

    @property
    def atom_notifier(self) -> Notifier:
        """Atom state changes and task progress (event ``update_progress``)."""
        if self._atom_notifier is None:
            self._atom_notifier = Notifier()
        return self._atom_notifier

    @property
    def compilation(self) -> CompiledFlow:
        """The compiled execution graph (compiles on first use)."""
        return self.compile()

    def compile(self) -> CompiledFlow:
        """Compile the flow (validating its structure); shared by every flow of the same shape."""
        if self._compiled is None:
            self._compiled, self._atoms = bind_flow(self._flow)
        return self._compiled

    def prepare(self) -> None:
        """Create the storage records of every atom (reusing those of a resumed flow)."""
        compiled = self.compile()
        if self._details is None:
            self._details = self.storage.ensure_atoms(compiled)

    def validate(self) -> None:
        """Check that every requirement nothing provides has been injected.

        Each run checks again: what is injected may have changed since the last
        one (a suspended flow resumed with its storage changed, a record refreshed).
        """
        self.prepare()
        compiled = self._compiled
        assert compiled is not None
        missing: dict[str, tuple[str, ...]] = {}
        lookup = self.storage.lookup_injected
        for symbol, atom_names in compiled.store_requires.items():
            if not lookup(symbol)[0]:
                missing[symbol] = atom_names
        if missing:
            symbol, atom_names = next(iter(missing.items()))
            parts = [f"atom {', '.join(map(repr, names))} requires {sym!r}" for sym, names in missing.items()]
            # The cause is the first atom's own error: what that one atom lacks.
            first = atom_names[0]
            lacks = sorted(sym for sym, names in missing.items() if first in names)
            cause = MissingDependencyError(
                f"atom {first!r} in flow {self._flow.name!r} requires {', '.join(map(repr, lacks))}, "
                f"which nothing provides or injects",
                flow=self._flow.name,
                atom=first,
                missing=frozenset(lacks),
            )
            raise MissingDependencyError(
                f"flow {self._flow.name!r}: {'; '.join(parts)}, which nothing provides or injects "
                f"(pass it with store={{...}} or engine.storage.inject())",
                flow=self._flow.name,
                atom=first,
                missing=frozenset(missing),
            ) from cause

    # -- running ----------------------------------------------------------------------------

    def run(self) -> None:
        """Run the flow to its end; re-raise the failure if it reverted or failed.

        A suspended engine (``suspend()``) returns normally; calling ``run()``
        again resumes it.
        """
        # run_iter()'s steps, except that an atom the engine runs itself (see _run_with) is
        # handed up to be run here: a task waiting in this frame keeps the calling thread's
        # stack shallow, where inside the steps' generators each level is a C-level call
        # whose stack a green thread keeps while the task waits (some 400 bytes each).
        steps = self._run_steps(False, True)
        step = steps.send
        reply: AtomOutcome | None = None
        while True:
            try:
                item = step(reply)
            except StopIteration:
                return
            reply = None
            if item.__class__ is str:
                if item == WAITING:
                    self.wait_step()
                continue
            try:
                reply = invoke_atom(item.kind, item.atom, item.kwargs, self._sink)
            except BaseException as exc:  # (invoke_atom lets only these through: a kill, an interrupt)
                steps.throw(exc)  # raised in the steps, where run_iter() would have run the atom
                raise

    def wait_step(self, timeout: float | None = None) -> None:
        """After ``run_iter()`` yielded ``WAITING``: wait until it can step on (or ``timeout`` passes).

        Only the calling thread or green thread waits (on a green hub the hub
        runs on). ``run()`` is ``run_iter()`` with this after each ``WAITING``;
        a driver that steps many engines waits on a wakeup of its own instead
        (``set_wakeup``). Returns at once when the engine is not waiting.
        """
        wakeup = self._wakeup
        if wakeup is not None:
            wakeup.wait(timeout)

    def run_iter(self, steps: bool = False) -> Iterator[str]:
        """Run step by step, yielding flow states and ``WAITING``; never blocks inside a step.

        Yields ``RUNNING`` first and the final state (``SUCCESS``, ``REVERTED``,
        ``FAILURE`` or ``SUSPENDED``) last, then raises the failure, if any.
        An exception thrown in (``throw()``) ends the run there: the flow is
        FAILURE (RUNNING if it was reverting, so that a resumed run continues
        the revert) and the exception is raised; a storage error leaves the
        flow as it was recorded.
        ``WAITING`` means atoms run elsewhere and none has finished: the caller
        may drive other engines, then resume this generator (``wait_step()``
        waits until it can go on).

        ``steps=True`` shows each scheduling round too: ``SCHEDULING`` before
        atoms are started, ``WAITING`` once they are under way (for atoms run
        in the engine itself, once they have run) and ``ANALYZING`` once some
        have finished, before their outcomes are taken in, so a ``suspend()``
        asked for at ``WAITING`` or ``ANALYZING`` starts no further atom
        (compat/ maps these to TaskFlow's engine states).
        """
        return self._run_steps(steps, False)  # type: ignore[return-value]  # (top=False: states only)

    def _begin_run(self, steps: bool, top: bool) -> None:
        """Mark the engine running, validate, attach to the backend's writer, claim the flow detail.

        What it did is undone if a step fails; ``_end_run`` undoes it after the run.
        """
        with _STATE_LOCK:  # held for a test-and-set only: never across a green switch
            already, self._running = self._running, True
            if not already:
                self._suspend_asked = False
        if already:
            raise EngineStateError(
                f"the engine of flow {self.storage.flow_name!r} is already running; "
                f"an engine runs one flow at a time (load another engine to run it twice)"
            )
        self._steps = steps
        self._top = top
        storage = self.storage
        try:
            self.validate()
            if storage.writes_through:
                # A backend with a writer group-commits this run with every other engine's on the hub.
                storage.attach(self.hub)
            self._claim()
            if self._claimed and storage.writes_through:
                # Run from what is stored, not from what this engine last saw: another
                # engine may have run the flow since (a stale load), or a save of this
                # engine's last run may have failed half-way.
                storage.refresh()
        except BaseException:
            self._end_run()
            raise

    def _end_run(self) -> None:
        """Release the claim, detach from the writer, mark the engine idle (each even if one before fails)."""
        try:
            try:
                self._release()
            finally:
                self.storage.detach()  # (nothing to do unless attached)
        finally:
            self._runtime = self._sink = None  # (the sink is a bound method: no cycle kept after the run)
            self._running = False
            self._steps = self._top = False

    @property
    def owner(self) -> str:
        """Who this engine is in claims: ``host:pid:engine-id``."""
        if self._owner is None:
            self._owner = make_owner(new_uuid())
        return self._owner

    def _claim(self) -> None:
        """Claim the flow detail for this run; ``EngineStateError`` if another engine holds it."""
        storage = self.storage
        if not storage.claims:
            # Nothing records the run: two engines of this process on one flow detail
            # are kept apart here (setdefault is atomic, so no lock, on any hub).
            holder = _LOCAL_RUNS.setdefault(id(storage.flow_detail), self)
            if holder is not self:
                raise EngineStateError(
                    f"cannot run flow {storage.flow_name!r}: another engine of this process "
                    f"({holder.owner}) is running the same flow detail"
                )
            self._claimed = True
            return
        try:
            storage.claim(self.owner)
        except StorageError as exc:
            raise EngineStateError(
                f"cannot run flow {storage.flow_name!r} (flow detail {storage.flow_uuid}): {exc}; "
                f"another engine is running it (wait for it to end, or resume it once it has)"
            ) from exc
        self._claimed = True

    def _release(self) -> None:
        if not self._claimed:
            return
        self._claimed = False
        if not self.storage.claims:
            if _LOCAL_RUNS.get(id(self.storage.flow_detail)) is self:
                del _LOCAL_RUNS[id(self.storage.flow_detail)]
            return
        try:
            self.storage.release(self.owner)
        except StorageError as exc:
            # Releasing must not hide how the run ended; a claim left behind by a
            # process that has exited is broken by the next claimant on this host.
            _LOG.warning(
                "flow %r: could not release the claim of %s: %s", self.storage.flow_name, self.owner, exc
            )

    def _run_steps(self, steps: bool, top: bool) -> _Steps:
        """``run_iter()``'s generator; with ``top``, atoms run inline are yielded up to ``run()``.

        ``top``: an atom the engine would run in its own thread is yielded as its
        ``Action`` instead, and the caller sends back its ``AtomOutcome``.
        One generator for the whole run, its set-up and tear-down in plain
        methods: a generator is an object each engine in flight holds, and
        each level is one more C-level call on the stack.
        """
        self._begin_run(steps, top)
        try:
            compiled = self._compiled
            details = self._details
            assert compiled is not None and details is not None
            # A run that did not end (killed, suspended) goes on where it was, its revert included.
            prior = self.storage.get_flow_state()
            interrupted = prior in INTERRUPTED_FLOW_STATES
            # Made before the flow is RUNNING: the atoms that run again go back to PENDING first
            # (and a reverted flow too), so listeners hear the run again start from PENDING.
            runtime = Runtime(
                compiled,
                self.storage,
                self._atom_event if self._atom_notifier else None,
                defer_reverts=self.options.defer_reverts,
                never_resolve=self.options.never_resolve,
                fresh=self._runs == 0 and self.storage.created_all,
                interrupted=interrupted,
                atoms=self._atoms,
            )
            if prior == states.REVERTED:
                self._set_flow_state(states.PENDING)
            self._set_flow_state(states.RUNNING)
            yield states.RUNNING
            self._runtime = runtime
            if self._suspend_asked:  # suspend() came after the run began, before its runtime existed
                runtime.suspend()
            self._runs += 1
            sink = self._sink = self._progress if self._atom_notifier else None
            executor, owned, limit = self._executor()
            commit = self.storage.commit if self.storage.defers_commits else None
            self._held_events = [] if commit is not None and self._atom_notifier else None
            try:
                actions = runtime.start()
                pending = commit() if commit is not None else None
                if pending is not None:
                    yield from self._wait_durable(pending)
                if self._steps and not actions:
                    # Every run shows a round, even with nothing to start (an empty flow, a
                    # resumed flow whose atoms are all done): a driver sees the same shape.
                    yield SCHEDULING
                    yield WAITING
                    yield ANALYZING
                if executor is None:
                    yield from self._run_inline(runtime, actions, sink)
                else:
                    yield from self._run_with(executor, limit, runtime, actions, sink)
            except Exception as exc:
                # The run was cut off (an exception thrown into run_iter() by its driver, a task
                # callback that raised): the flow ends in FAILURE, except mid-revert, where it stays
                # RUNNING so that a resumed run continues the revert. When storage itself failed
                # or refused a write (a lost claim), nothing more is written.
                if not runtime.reverting and not isinstance(exc, (StorageError, ClaimLostError)):
                    self._fail_flow()
                raise
            finally:
                if owned:
                    executor.shutdown(wait=True)
                self._executed += runtime.executed
                self._reverted += runtime.reverted
            end = runtime.end_state
            # The flow's end is reported only once it is durable.
            old = self._set_flow_state(end, notify=commit is None)
            pending = commit() if commit is not None else None
            if pending is not None:
                yield from self._wait_durable(pending)
            if commit is not None and old is not None:
                self._notify_flow(end, old)
            self._release()  # before the final state is seen: whoever waits for it may run the flow next
            yield end
            if end in (states.REVERTED, states.FAILURE):
                Failure.reraise_if_any(runtime.failures, runtime.failure_atoms())
        finally:
            self._end_run()

    def _run_inline(self, runtime: Runtime, actions: Sequence[Action], sink: Any) -> _Steps:
        if self._steps:
            yield from self._run_inline_steps(runtime, actions, sink)
            return
        queue = deque(actions)
        pop, extend, feed = queue.popleft, queue.extend, self._feed
        top = self._top
        commit = self.storage.commit if self.storage.defers_commits else None
        while queue:
            action = pop()
            if top:  # run() runs it (see run())
                outcome = yield action
            else:
                outcome = invoke_atom(action.kind, action.atom, action.kwargs, sink)
            extend(feed(runtime, action, outcome))
            pending = commit() if commit is not None else None
            if pending is not None:
                yield from self._wait_durable(pending)

    def _run_inline_steps(self, runtime: Runtime, actions: Sequence[Action], sink: Any) -> Iterator[str]:
        """``_run_inline`` for ``run_iter(steps=True)``: each round of ready atoms is a step."""
        commit = self.storage.commit if self.storage.defers_commits else None
        while actions:
            yield SCHEDULING
            outcomes = [(a, invoke_atom(a.kind, a.atom, a.kwargs, sink)) for a in actions]
            yield WAITING  # they ran here: nothing to wait for
            yield ANALYZING  # before the outcomes are taken in: a suspend() here starts nothing more
            actions = []
            for action, outcome in outcomes:
                actions.extend(self._feed(runtime, action, outcome))
            pending = commit() if commit is not None else None
            if pending is not None:
                yield from self._wait_durable(pending)

    def _wait_durable(self, pending: PendingCommit) -> Iterator[str]:
        """Yield ``WAITING`` until the recorder's ``pending`` commit rings; raise its write error."""
        outcome: list[BaseException | None] = []
        wakeup = self._wakeup
        borrowed = wakeup is None
        if wakeup is None:
            wakeup = self._wakeup = self._idle_wakeup or self.hub.new_wakeup()
            self._idle_wakeup = None
        notify = wakeup.notify

        def durable(error: BaseException | None) -> None:
            outcome.append(error)
            notify()

        pending.add_done_callback(durable)
        try:
            while not outcome:
                yield WAITING
        finally:
            if borrowed:
                self._wakeup = None
                self._idle_wakeup = wakeup
        if outcome[0] is not None:
            raise outcome[0]
        held = self._held_events
        if held:
            self._held_events = []
            for state, event in held:
                self.atom_notifier.notify(state, event)

    def _run_with(
        self, executor: Any, limit: int | None, runtime: Runtime, started: Sequence[Action], sink: Any
    ) -> _Steps:
        """Run atoms on ``executor``, at most ``limit`` at a time (``None``: no bound).

        Atoms start through the executor's ``Starter`` (``greenflow.executors``,
        chosen once per run); completions arrive through callbacks (possibly on
        other OS threads), are queued, and ring the engine's wakeup; only this
        loop touches the runtime. A starter that says ``inline_when_alone`` (the
        green executor) has an atom that is the only one runnable run right here
        in the engine's green thread: there is nothing to overlap it with, and a
        blocking call in it yields to the hub anyway.
        """
        wakeup = self._wakeup = self._idle_wakeup or self.hub.new_wakeup()
        self._idle_wakeup = None
        # Plain lists consumed from an index, not deques: an engine in flight keeps
        # both, and a deque's first block alone is some 600 bytes.
        done = _Arrivals(wakeup)  # what finished: (action, raw), appended from any thread
        waiting: list[Action] = []  # waiting[head:] are still to start
        actions: list[Action] = list(started)  # made ready, not yet waiting
        head = 0
        starter: Starter = starter_for(executor)
        steps = self._steps
        unwaited = False  # steps: a round was scheduled and no WAITING shown since
        inline = starter.inline_when_alone and not steps  # with steps, each atom a step of its own
        top = self._top
        commit = self.storage.commit if self.storage.defers_commits else None
        running = 0

        try:
            while True:
                if head == len(waiting) and head:
                    waiting.clear()
                    head = 0
                waiting.extend(actions)
                actions = []
                end = len(waiting)  # only this loop adds to ``waiting``
                if steps and head < end and (limit is None or running < limit):
                    yield SCHEDULING
                    unwaited = True
                while head < end and (limit is None or running < limit):
                    action = waiting[head]
                    head += 1
                    if inline and running == 0 and head == end:
                        if top:  # run() runs it (see run())
                            outcome = yield action
                        else:
                            outcome = invoke_atom(action.kind, action.atom, action.kwargs, sink)
                        actions.extend(self._feed(runtime, action, outcome))
                        break
                    try:
                        starter.start(action, sink, done)
                    except Exception as exc:  # the executor refused it (shut down, not picklable...)
                        done.append((action, AtomOutcome(False, Failure.from_exception(exc))))
                    running += 1
                if done:
                    if steps:
                        if unwaited:  # a round is always scheduled, waited for, analysed
                            unwaited = False
                            yield WAITING
                        yield ANALYZING  # before the outcomes are taken in, as inline
                    # Callbacks on other threads may append meanwhile: take by index,
                    # then drop exactly what was taken.
                    taken = 0
                    while taken < len(done):
                        action, raw = done[taken]
                        taken += 1
                        running -= 1
                        outcome = raw if raw.__class__ is AtomOutcome else starter.outcome(action, raw, sink)
                        actions.extend(self._feed(runtime, action, outcome))
                    del done[:taken]
                if commit is not None:
                    pending = commit()
                    if pending is not None:  # what was just recorded is not durable yet: start nothing
                        yield from self._wait_durable(pending)
                        if done:  # outcomes that arrived meanwhile rang while the commit was awaited
                            continue
                more = head < end
                if actions or (more and (limit is None or running < limit)):
                    continue
                if running == 0 and not more and runtime.finished:
                    return
                unwaited = False
                yield WAITING
        finally:
            # Kept for this engine's next run: a wakeup is reset by each wait.
            self._wakeup = None
            self._idle_wakeup = wakeup

    @staticmethod
    def _feed(runtime: Runtime, action: Action, outcome: AtomOutcome) -> list[Action]:
        ok, value = outcome
        i = action.node
        if action.kind == _EXECUTE:
            return runtime.executed_ok(i, value) if ok else runtime.executed_failed(i, value)
        return runtime.reverted_ok(i, value) if ok else runtime.reverted_failed(i, value)

    def _executor(self) -> tuple[Any, bool, int | None]:
        """``(executor, owned, limit)``; ``executor`` ``None`` runs atoms inline in this loop.

        ``limit`` bounds the atoms running at once: 1 for the serial engine, and
        ``max_workers`` for an engine asking for green threads of its own, which
        it takes from the hub's shared green pool instead of making a pool.
        """
        opts = self.options
        spec = opts.executor
        serial = opts.engine == "serial"
        if (spec is None and serial) or spec == "synchronous":
            return None, False, None
        limit = 1 if serial else None
        if spec is None and opts.max_workers is None:
            return shared_executor(self.hub), False, limit
        share = green_share(spec, opts.max_workers, self.hub)
        if share is not None:
            return shared_executor(self.hub), False, share if limit is None else min(limit, share)
        executor, owned = make_executor(spec, max_workers=opts.max_workers, hub=self.hub)
        return executor, owned, limit

    @property
    def hub(self) -> Any:
        """The hub this engine waits through (chosen by the ``hub`` option or configuration)."""
        hub = self._hub_obj
        if hub is None:
            hub = self._hub_obj = resolve_hub(self.options.hub)
        return hub

    def set_wakeup(self, wakeup: Wakeup | None) -> None:
        """Ring ``wakeup`` (instead of a wakeup of the engine's own) when ``run_iter()`` may step on.

        For drivers that step many engines' ``run_iter()`` and wait for any of
        them (``run_many`` under the threading hub): after the engine yields
        ``WAITING``, ``wakeup.notify()`` is called, from any thread, once one
        of its atoms has finished or its recorder's commit is durable; the
        driver then steps it again. ``wakeup.wait()`` is never called by the
        engine. ``None`` goes back to the engine's own wakeup (used by ``run()``).
        Set it before the run's first step or between runs.
        """
        self._idle_wakeup = wakeup

    def suspend(self) -> None:
        """Ask a running engine to stop after its running atoms finish (``run()`` returns).

        The flow ends in SUSPENDED; ``run()`` resumes it. Has no effect when the
        engine is not running.
        """
        if self._running:
            # Remembered for a run that has begun but not yet made its runtime (it applies it
            # once made): a suspend is never lost in that window. Set before the runtime is read.
            self._suspend_asked = True
        runtime = self._runtime
        if runtime is not None:
            runtime.suspend()

    def reset(self) -> None:
        """Forget every atom's results and states so the flow can run from the start."""
        if self._running:
            raise EngineStateError(
                f"cannot reset the engine of flow {self.storage.flow_name!r} while it runs"
            )
        self.prepare()
        self.storage.reset_atoms()
        self._set_flow_state(states.PENDING)

    @property
    def statistics(self) -> EngineStatistics:
        """Counters across this engine's runs."""
        return EngineStatistics(self._runs, self._executed, self._reverted, self.storage.get_flow_state())

    # -- notifications ----------------------------------------------------------------------

    def _set_flow_state(self, new: str, notify: bool = True) -> str | None:
        """Record the flow's state; return the old one (``None`` if the transition does not apply)."""
        fd = self.storage.flow_detail
        old = self.storage.get_flow_state()
        if not states.check_flow_transition(fd.name, old, new):
            return None
        fd.state = new
        self.storage.save_flow()
        if notify and self._notifier:
            self._notify_flow(new, old)
        return old

    def _fail_flow(self) -> None:
        """Record the flow FAILURE after its run was cut off; the error that cut it off is raised."""
        try:
            self._set_flow_state(states.FAILURE)
            if self.storage.defers_commits:
                self.storage.commit()
        except Exception:
            _LOG.exception(
                "flow %r: could not record its FAILURE after its run was cut off", self.storage.flow_name
            )

    def _notify_flow(self, new: str, old: str) -> None:
        if self._notifier:
            fd = self.storage.flow_detail
            self._notifier.notify(
                new, {"engine": self, "flow_name": fd.name, "flow_uuid": fd.uuid, "old_state": old}
            )

    def _atom_event(self, i: int, new: str, old: str, result: Any) -> None:
        compiled = self._compiled
        details = self._details
        assert compiled is not None and details is not None
        detail = details[i]
        assert detail is not None
        prefix = "retry" if compiled.nodes[i].kind == RETRY else "task"
        event: dict[str, Any] = {
            f"{prefix}_name": detail.name,
            f"{prefix}_uuid": detail.uuid,
            "old_state": old,
        }
        if new in _RESULT_STATES:
            event["result"] = result
            held = self._held_events
            if held is not None:  # a listener hears that an atom is done once that is durable
                held.append((new, event))
                return
        self.atom_notifier.notify(new, event)

    def _progress(self, atom: Any, progress: float) -> None:
        detail = self.storage.flow_detail.find_by_name(atom.name)
        self.atom_notifier.notify(
            EVENT_UPDATE_PROGRESS,
            {"task_name": atom.name, "task_uuid": detail.uuid if detail else None, "progress": progress},
        )

    def __repr__(self) -> str:
        return f"Engine(flow={self.storage.flow_name!r}, engine={self.options.engine!r})"

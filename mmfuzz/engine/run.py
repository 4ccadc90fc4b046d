"""One run: a population of tasks over one model state, stepped one atomic step at a time.

The scheduler is deterministic: the same population, parameters and sequence of
choices always give the same trace. A choice is a stable task id, or "keep running the
current task" (the choice shrinking aims for: fewer switches).
"""

from __future__ import annotations

import hashlib

import attrs

from . import footprint
from .elide import MUTANT_NOTE, ElidingLocks, SiteLog, WatchedLocks, acquire_site
from .statekey import Unfreezable
from .task import Acquire, FunctionCache, Task, step_label
from .violations import InvariantBroken, KernelCrash, Violation

KEEP = 0  # schedule choice: keep running the current task


@attrs.frozen
class TraceStep:
    tid: int
    func: str
    step: str
    notes: tuple = ()

    @property
    def label(self) -> str:
        return f"{self.func}: {self.step}"


def state_id(state) -> int:
    """A stable id of a model state (the same in every process: not hash())."""
    try:
        key = state.key()
    except Unfreezable:
        return 0  # a state that cannot be keyed counts as one
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


class StaleSchedule(Exception):
    """A recorded schedule no longer fits the code (a step label is gone)."""


def titles_for(scenario, population: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for kind in population:
        seen[kind] = seen.get(kind, 0) + 1
        title = scenario.actor(kind).title
        out.append(title if seen[kind] == 1 else f"{title} #{seen[kind]}")
    return out


class Run:
    """`elide`: acquisition sites (engine/elide.py) this run does not take its locks at
    (a protection mutant); `sites`: a SiteLog to record the sites reached, and those
    whose elision would change this run, in."""

    def __init__(self, scenario, kernel_cls, population: list[str], params: dict,
                 versions: dict | None = None, max_steps: int = 3000,
                 elide: frozenset = frozenset(), sites: SiteLog | None = None, record: bool = False):
        # max_steps is each task's budget, not the run's: a livelock is a CPU that makes
        # no progress, and a run of many short tasks (1,600 readers) must not look like one
        self.scenario = scenario
        self.elide = frozenset(elide)
        self.sites = sites
        # only a mutant run (or one recording its sites) pays for knowing them
        self.watching = bool(self.elide) or sites is not None
        self.population = list(population)
        self.params = dict(params)
        self.versions = versions or {}
        self.max_steps = max_steps
        self.kernel = kernel_cls()
        self.state = scenario.initial_state(self.kernel, self.params)
        self.kernel.s = self.state
        if sites is not None:
            self.state.locks = WatchedLocks(self.state.locks, sites)
        self.trace: list[TraceStep] = []
        # with `record`: a footprint.Recorder, and step() leaves the step's Footprint here
        self.recorder: footprint.Recorder | None = None
        self.footprint: footprint.Footprint | None = None
        self.current = 0
        self.tasks: list[Task] = []
        self.functions: list[FunctionCache] = []  # each task's innermost function, cached
        for tid, (kind, title) in enumerate(zip(population, titles_for(scenario, population))):
            task = Task(tid, kind, title)
            task.locks = ElidingLocks(self.state.locks, self, task) if self.watching else self.state.locks
            self.tasks.append(task)
            self.functions.append(FunctionCache())
        if record:  # footprints for the partial-order reduction, tracked before any code holds the state
            footprint.track(self.state, self.tasks)
            self.recorder = footprint.Recorder(self, Task)
        # spawn after all tasks exist: an actor may look up its peers' ids
        for task in self.tasks:
            task.gen = scenario.actor(task.kind).start(self.kernel, task, self.state)
            try:
                task.pending = next(task.gen)
            except StopIteration as stop:
                task.done, task.result = True, stop.value
            if self.watching:
                self._watch(task)
        if sites is not None:
            self._watch_waiters()

    # -- scheduling -----------------------------------------------------------------
    def runnable(self, task: Task) -> bool:
        if task.done or task.crashed:
            return False
        p = task.pending
        if type(p) is str:
            return True
        if type(p) is Acquire:
            return task.elided_site is not None or self.state.locks.can_acquire(p.lock, p.mode)
        return p.cond(self.state)

    def pick(self, choice: int) -> int | None:
        """Task to run for a schedule choice, or None for a no-op."""
        if choice == KEEP:
            return self.default_task()
        tid = choice - 1
        if tid < len(self.tasks) and self.runnable(self.tasks[tid]):
            return tid
        return None

    def default_task(self) -> int | None:
        """The task the default schedule runs: the current one, else the lowest runnable."""
        if self.current < len(self.tasks) and self.runnable(self.tasks[self.current]):
            return self.current
        for task in self.tasks:
            if self.runnable(task):
                return task.id
        return None

    def schedule(self, choice: int) -> None:
        tid = self.pick(choice)
        if tid is not None:
            self.step(tid)

    def finish(self) -> None:
        """Run every task to its end: keep the current one, else the lowest id."""
        while True:
            tid = self.default_task()
            if tid is None:
                return
            self.step(tid)

    @property
    def all_done(self) -> bool:
        return all(not t.alive for t in self.tasks)

    # -- one step -------------------------------------------------------------------
    def next_label(self, task: Task) -> str:
        return f"{self.function(task)}: {step_label(task.pending)}"

    def function(self, task: Task) -> str:
        """The kernel function the task's next step is in."""
        return self.functions[task.id].of(task.gen)

    def step(self, tid: int) -> None:
        rec = self.recorder
        if rec is None:
            return self._step(tid, None)
        task = self.tasks[tid]
        rec.begin(task, task.pending)
        try:
            self._step(tid, rec)
        finally:
            self.footprint = rec.end(task.done or task.crashed)

    def _step(self, tid: int, rec) -> None:
        task = self.tasks[tid]
        self.current = tid
        pending = task.pending
        func = self.functions[tid].of(task.gen)
        if type(pending) is not Acquire:
            task.notes = []
        elif task.elided_site is None:
            self.state.locks.acquire(pending.lock, pending.mode, tid)
            if self.sites is not None:
                self.took(acquire_site(task.gen, pending), pending.lock, tid)
            task.notes = []
        else:  # a mutant: as if the lock were taken
            self.state.locks.elide(pending.lock, tid)
            task.notes = [MUTANT_NOTE]
        task.steps += 1
        if rec is not None:
            rec.resume()
        try:
            task.pending = task.gen.send(None)
        except StopIteration as stop:
            task.done, task.result, task.pending = True, stop.value, None
        except Exception as crash:
            if not isinstance(crash, KernelCrash):
                if not self.elide:
                    raise  # a bug in the model
                # a mutant runs the code where the real locking never lets it go: a model
                # function failing there is the kernel using what it must not (a NULL mapping)
                crash = KernelCrash(f"{type(crash).__name__}: {crash} (model code run where the elided "
                                    f"lock never lets it go)", "model-error")
            # the task dies here and keeps its locks, as a crashed kernel thread does
            task.crashed, task.pending = True, None
            task.notes.append(str(crash))
            self._record(tid, func, pending, task)
            raise Violation(crash.invariant, f"{task.title} in {func}: {crash}", self, tid) from None
        if rec is not None:
            rec.pause()
        if self.watching:
            self._watch(task)
            if self.sites is not None:
                self._watch_waiters()
        self._record(tid, func, pending, task)
        if rec is not None:
            rec.check()
        try:
            self.scenario.invariants(self)
            if task.done:
                self.scenario.on_finish(self, task)
        except InvariantBroken as broken:
            raise Violation(broken.invariant, str(broken), self, tid) from None
        if rec is not None:
            rec.pause()  # the engine's own checks (a livelock, a hang) are not the step's
        if task.steps > self.max_steps:
            raise Violation("no-livelock", f"no progress: {task.title} ran {task.steps} steps "
                            f"(more than the {self.max_steps} a task may take), last at "
                            f"{self.trace[-1].label}", self, tid)
        if not task.alive or type(task.pending) is not str:
            self._check_hang()

    def advance(self, tid: int) -> None:
        """Re-run a step an earlier run of the same schedule already took and checked.

        The explorer replays prefixes (generators cannot be copied): the code runs and
        the state changes as in step() (a mutant's elided lock too), but nothing is
        recorded or checked, so the trace holds only the steps after them.
        """
        task = self.tasks[tid]
        self.current = tid
        pending = task.pending
        if type(pending) is Acquire:
            if task.elided_site is None:
                self.state.locks.acquire(pending.lock, pending.mode, tid)
                if self.sites is not None:
                    self.took(acquire_site(task.gen, pending), pending.lock, tid)
            else:
                self.state.locks.elide(pending.lock, tid)
        task.notes = []
        task.steps += 1
        try:
            task.pending = task.gen.send(None)
        except StopIteration as stop:
            task.done, task.result, task.pending = True, stop.value, None
        if self.watching:
            self._watch(task)
            if self.sites is not None:
                self._watch_waiters()

    def _watch(self, task: Task) -> None:
        """Site of the task's pending acquisition: recorded, and elided if it is a mutant's."""
        p = task.pending
        task.elided_site = None
        if type(p) is Acquire:
            site = acquire_site(task.gen, p)
            self.reached(site)
            if site in self.elide:
                task.elided_site = site

    def _watch_waiters(self) -> None:
        """A task that must wait at a site would not wait in that site's mutant."""
        for t in self.tasks:
            p = t.pending
            if t.alive and type(p) is Acquire and not self.state.locks.can_acquire(p.lock, p.mode):
                assert self.sites is not None  # only called while sites are recorded
                self.sites.diverged.add(acquire_site(t.gen, p))

    def reached(self, site: tuple) -> None:
        if self.sites is not None:
            self.sites.reached.add(site)

    def diverged(self, site: tuple) -> None:
        if self.sites is not None:
            self.sites.diverged.add(site)

    def took(self, site: tuple, lock: str, tid: int) -> None:
        if self.sites is not None:
            self.state.locks.took(site, lock, tid)

    def _record(self, tid, func, pending, task) -> None:
        self.trace.append(TraceStep(tid, func, step_label(pending), tuple(task.notes)))

    def _check_hang(self) -> None:
        runnable = self.runnable
        for t in self.tasks:
            if runnable(t):
                return
        waiting = [t for t in self.tasks if t.alive]
        if not waiting:
            return
        lines = []
        for t in waiting:
            p = t.pending
            what = f"{p.lock} ({p.mode})" if type(p) is Acquire else p.what
            holders = self.holders_of(p.lock) if type(p) is Acquire else ""
            lines.append(f"{t.title} waits in {self.function(t)} for {what}{holders}")
        raise Violation("no-hang", "; ".join(lines), self, waiting[0].id)

    def holders_of(self, lock: str) -> str:
        cur = self.state.locks.held.get(lock)
        if not cur:
            return ""
        who = []
        for tid in cur[1]:
            t = self.tasks[tid]
            state = "crashed" if t.crashed else "done" if t.done else "running"
            who.append(f"{t.title} [{state}]")
        return f", held by {', '.join(who)}"

    # -- replay ---------------------------------------------------------------------
    def replay(self, steps: list[tuple[int, str]]) -> None:
        """Re-execute recorded (task id, label) steps; StaleSchedule if they no longer fit."""
        for i, (tid, label) in enumerate(steps):
            if not 0 <= tid < len(self.tasks):
                raise StaleSchedule(f"step {i}: no task {tid}")
            task = self.tasks[tid]
            if not task.alive:
                raise StaleSchedule(f"step {i}: {task.title} has already finished, expected {label!r}")
            have = self.next_label(task)
            if have != label:
                raise StaleSchedule(f"step {i}: {task.title} is at {have!r}, schedule says {label!r}")
            if not self.runnable(task):
                raise StaleSchedule(f"step {i}: {task.title} is blocked at {label!r}")
            self.step(tid)

    # -- facts for reports --------------------------------------------------------------
    def switches(self) -> int:
        return sum(1 for a, b in zip(self.trace, self.trace[1:]) if a.tid != b.tid)

    def schedule_record(self) -> dict:
        return {
            "population": list(self.population),
            "params": dict(self.params),
            "steps": [[s.tid, s.label] for s in self.trace],
        }

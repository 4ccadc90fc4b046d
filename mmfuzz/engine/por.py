"""Partial-order reduction for the search of every interleaving: stateful DPOR.

Two steps of different tasks that are independent (footprint.py: neither writes what
the other reads or writes, no conflicting lock operations) lead to the same state in
either order, so a search need run only one of the two orders. Dynamic partial-order
reduction (Flanagan and Godefroid, POPL 2005) finds the orders that matter while it
runs: a state starts with one task to run; each step run is compared with the steps
before it on the path, and for the latest earlier step of another task it *races*
with (dependent, possibly enabled together, not ordered by the happens-before of the
steps between: vector clocks), the state before that step gets a task to try that
can start the reversed race, an initial of the steps in between not ordered after
it (source sets: Abdulla et al., POPL 2014), unless it has one already.

Only steps that run are compared, so where a schedule stops early (a violation, a
cycle) every enabled task is tried from the state before: their next steps, never
run after it, are then compared too. A blocked task's next step (a lock to take, a
condition to wait for) has a footprint known without running it: it is compared at
every state.

State caching (Yang et al., "Efficient stateful dynamic partial order reduction",
SPIN 2008): a state met again is not explored again, so the steps its subtree would
run are not compared with this path. Each state keeps the *summary* of its subtree
(every step run below it, and every blocked task's pending step); meeting it again
compares each step of the summary with the path, as if it ran next, conservatively:
with every earlier step it races with, not only the latest.

A cycle (a state met again on the path: a schedule that runs forever, reported as a
livelock) has an unfinished summary: every state on it tries every enabled task.

Which task a new state runs first is free (any choice keeps the search sound) but not
its cost: a CPU whose steps race with nothing, run after the others, is run again
after every way they end. So a new state runs first a task whose next step (task, step
label) has not been seen racing, in one run of the default schedule made before the
search (a pilot) or since: such a CPU runs once, near the start.

The invariant checks run after every step and read the state: their reads count as
the step's own reads whenever the step changed a cell or finished its task, so a step
that changes what an invariant reads is never reordered with one that depends on it,
and every state the full search checks has an equivalent this search checks (a step
that changed only locks leaves every check's answer as it was). Hangs are end states,
which the reduction keeps. tests/test_explore_all.py compares the invariants broken,
with and without the reduction, on every declared row.
"""

from __future__ import annotations

from .footprint import ACQ_EXCL, ACQ_SHARED, Footprint, tracking
from .task import SHARED, Acquire, Task, WaitFor
from .violations import Violation


class _Frame:
    __slots__ = ("key", "order", "enabled", "backtrack", "done", "summary", "clocks", "event")

    def __init__(self, key, order, enabled, clocks, event):
        self.key, self.order, self.enabled, self.clocks, self.event = key, order, enabled, clocks, event
        self.backtrack: set[int] = set()
        self.done: set[int] = set()
        self.summary: set = set()  # (task id, Footprint) of every step below, and blocked ones pending


class ReducedSearch:
    """One search of every interleaving, through the explorer's runs and keys."""

    def __init__(self, explorer, invariant: str | None, collect: set | None):
        self.x = explorer
        self.invariant = invariant
        self.collect = collect
        self.n = len(explorer.args[2])
        self.summaries: dict = {}  # key -> the summary of its explored subtree (None: on the path)
        self.depth_of: dict = {}  # key -> its depth, for the states on the path
        self.path: list[int] = []
        self.events: list[tuple[int, Footprint]] = []  # the steps on the path
        self.vcs: list[tuple] = []  # each step's vector clock
        self.frames: list[_Frame] = []
        # footprints repeat (the same step from states alike): each once, and the
        # conflicts between them computed once, by identity
        self.footprints: dict[Footprint, Footprint] = {}
        self.first_seen: dict[int, int] = {}  # id of an interned footprint -> when it was first met
        self.conflicts: dict[tuple[int, int], int] = {}
        self.renamings: dict = {}
        # (task id, step label) of the steps found racing with another task's: a new
        # state runs first a task whose next step is not one of them (any first choice
        # is sound; one that races with nothing adds no other order, so a CPU that
        # shares nothing runs once, not once after every end of the others)
        self.labels: list = []  # each path step's (task id, label)
        self.contended: set = set()

    def _interned(self, fp: Footprint) -> Footprint:
        out = self.footprints.setdefault(fp, fp)
        if out is fp:
            self.first_seen[id(fp)] = len(self.first_seen)
        return out

    def _conflict(self, a: Footprint, b: Footprint) -> int:
        k = (id(a), id(b))
        c = self.conflicts.get(k)
        if c is None:
            c = self.conflicts[k] = a.conflict(b)
        return c

    def _renamed(self, fp: Footprint, order) -> Footprint:
        if not fp.of_tasks:
            return fp
        k = (id(fp), order)
        out = self.renamings.get(k)
        if out is None:
            out = self.renamings[k] = self._interned(fp.renamed(order.__getitem__))
        return out

    # -- runs -------------------------------------------------------------------------
    def _replay(self, depth):
        return self.x._replay(self.path[:depth], record=True)

    # -- happens-before and races -------------------------------------------------------
    def _clock_after(self, clocks, tid: int, fp: Footprint) -> tuple:
        """The vector clock of a step of `tid` with footprint `fp` run after the path."""
        vc = list(clocks[tid])
        for i, (other, efp) in enumerate(self.events):
            if other != tid and self._conflict(efp, fp):
                evc = self.vcs[i]
                for k in range(self.n):
                    if evc[k] > vc[k]:
                        vc[k] = evc[k]
        vc[tid] = len(self.events) + 1
        return tuple(vc)

    def _races(self, tid: int, fp: Footprint, clocks, latest: bool, label=None) -> None:
        """A step of `tid` about to run after the path: for each earlier step of another
        task it races with, the state before that step gets a task to try that starts
        the reversed race (source sets, Abdulla et al., POPL 2014)."""
        mine = clocks[tid]
        vc = None
        for i in range(len(self.events) - 1, -1, -1):
            other, efp = self.events[i]
            if other == tid or mine[other] >= i + 1:  # hb-ordered before tid's next step
                continue
            if self._conflict(efp, fp) == 2:
                self.contended.add(self.labels[i])
                if label is not None:
                    self.contended.add(label)
                if vc is None:
                    vc = self._clock_after(clocks, tid, fp)
                self._reverse(i, tid, vc)
                if latest:
                    return

    def _reverse(self, i: int, tid: int, vc: tuple) -> None:
        """Step i and a later step of `tid` (its clock `vc`) race: the state before step
        i must try a task that runs first in some schedule doing the later step before
        step i, an *initial* of (the steps after i not ordered after it, then tid's)."""
        frame = self.frames[i]
        p = self.events[i][0]
        after = [m for m in range(i + 1, len(self.events)) if self.vcs[m][p] < i + 1]
        initials = set()
        firsts: set[int] = set()
        for m in after:
            q = self.events[m][0]
            if q in firsts:
                continue
            firsts.add(q)
            mvc = self.vcs[m]
            if not any(mvc[self.events[k][0]] >= k + 1 for k in after if k < m and self.events[k][0] != q):
                initials.add(q)
        if tid not in firsts and not any(vc[self.events[k][0]] >= k + 1 for k in after if self.events[k][0] != tid):
            initials.add(tid)
        if initials & frame.backtrack:
            return
        choice = [q for q in sorted(initials) if q in frame.enabled]
        frame.backtrack.update(choice[:1] or frame.enabled)

    # With symmetry a state's key lists tasks of one kind by where they are (search.py):
    # `order` is the task id in each place, and a summary is kept by places, so that a
    # state met again as its mirror image maps it onto the tasks in the same places.
    def _in_slots(self, summary, order) -> frozenset:
        if order is None:
            return frozenset(summary)
        place = tuple(sorted(range(len(order)), key=order.__getitem__))  # task id -> its place
        return frozenset((place[t], self._renamed(fp, place)) for t, fp in summary)

    def _from_slots(self, summary, order):
        if order is None:
            return summary
        return frozenset((order[slot], self._renamed(fp, order)) for slot, fp in summary)

    def _summary_races(self, summary, clocks) -> None:
        # in a fixed order (a set's order is the hash seed's): which reversal a race adds
        # depends on what the races before it added, so the states searched would vary
        seen = self.first_seen
        for tid, fp in sorted(summary, key=lambda e: (e[0], seen[id(e[1])])):
            self._races(tid, fp, clocks, latest=False)

    def _pending(self, run) -> list[tuple[int, Footprint]]:
        """The blocked tasks' next steps, whose footprints are known without running
        them: a lock to take, a condition to wait for."""
        out = []
        rec = run.recorder
        for t in run.tasks:
            if not t.alive or run.runnable(t):
                continue
            p = t.pending
            if type(p) is Acquire and t.elided_site is None:
                op = ACQ_SHARED if p.mode == SHARED else ACQ_EXCL
                out.append((t.id, self._interned(Footprint(locks={p.lock: frozenset((op,))}))))
            elif type(p) is WaitFor:
                out.append((t.id, self._interned(rec.probe(p.cond))))
        return out

    # -- the search ---------------------------------------------------------------------
    def _push(self, run, keyed, clocks, event) -> None:
        key, order = keyed
        if key is not None:
            self.summaries[key] = None
            self.depth_of[key] = len(self.frames)
            self.x.states = len(self.summaries)
        else:
            self.x.uncached += 1
        enabled = tuple(t.id for t in run.tasks if run.runnable(t))
        frame = _Frame(key, order, enabled, clocks, event)
        first = self._first(run, enabled)
        if first is not None:
            frame.backtrack.add(first)
        self.frames.append(frame)
        for tid, fp in self._pending(run):
            self._races(tid, fp, clocks, latest=True, label=(tid, run.next_label(run.tasks[tid])))
            frame.summary.add((tid, fp))

    def _first(self, run, enabled) -> int | None:
        """The task a new state runs first: the default one unless its next step was
        seen racing and another's was not."""
        default = run.default_task()
        if default is None or (default, run.next_label(run.tasks[default])) not in self.contended:
            return default
        for tid in enabled:
            if (tid, run.next_label(run.tasks[tid])) not in self.contended:
                return tid
        return default

    def _pilot(self) -> None:
        """Which steps race, from one run of the default schedule, before the search
        makes its first choice: every pair of steps of two tasks that conflict."""
        run = self._replay(0)
        steps = []
        try:
            while (tid := run.default_task()) is not None:
                label = (tid, run.next_label(run.tasks[tid]))
                run.step(tid)
                steps.append((label, self._interned(run.footprint)))
        except Violation:
            steps.append((label, self._interned(run.footprint)))
        for i, (a, fa) in enumerate(steps):
            for b, fb in steps[i + 1:]:
                if a[0] != b[0] and self._conflict(fa, fb) == 2:
                    self.contended.update((a, b))

    def _pop(self) -> None:
        frame = self.frames.pop()
        if frame.key is not None:
            self.summaries[frame.key] = self._in_slots(frame.summary, frame.order)
            del self.depth_of[frame.key]
        if self.frames:
            parent = self.frames[-1]
            parent.summary |= frame.summary
            if frame.event is not None:
                parent.summary.add(frame.event)
            self.events.pop()
            self.vcs.pop()
            self.labels.pop()

    def _wanted(self, name: str) -> bool:
        """Whether a violation ends the search (else it is collected, or not the one sought)."""
        if self.collect is not None:
            self.collect.add(name)
            return False
        return self.invariant is None or self.invariant == name

    def run(self):
        x = self.x
        zero = tuple((0,) * self.n for _ in range(self.n))
        with tracking(Task):
            self._pilot()
            run = self._replay(0)
            self._push(run, x.key(run, False), zero, None)
            while self.frames:
                frame = self.frames[-1]
                todo = frame.backtrack - frame.done
                if not todo:
                    self._pop()
                    continue
                if x.runs >= x.max_runs or (x.max_states is not None and len(self.summaries) >= x.max_states):
                    return None, False
                tid = min(todo)
                frame.done.add(tid)
                depth = len(self.frames) - 1
                if run is None or len(self.path) != depth:
                    run = self._replay(depth)
                del self.path[depth:]
                self.path.append(tid)
                clocks = frame.clocks
                label = (tid, run.next_label(run.tasks[tid]))
                try:
                    run.step(tid)
                except Violation as v:
                    fp = self._interned(run.footprint)
                    self._races(tid, fp, clocks, latest=True, label=label)
                    frame.summary.add((tid, fp))
                    # the schedule ends here: the other tasks' next steps never run after
                    # it, so their races with the path are found by running each from here
                    frame.backtrack.update(frame.enabled)
                    run = None
                    if self._wanted(v.invariant):
                        return x._reexecute(self.path), True
                    continue
                x.steps += 1
                fp = self._interned(run.footprint)
                self._races(tid, fp, clocks, latest=True, label=label)
                vc = self._clock_after(clocks, tid, fp)
                keyed = x.key(run, False)
                child = keyed[0]
                if child is not None and child in self.summaries:
                    summary = self.summaries[child]
                    if summary is None:  # on the path: a cycle
                        again = self.depth_of[child]
                        for f in self.frames[again:]:
                            f.backtrack.update(f.enabled)
                        frame.summary.add((tid, fp))
                        if self._wanted("no-livelock"):
                            cycle = x.mirrored(self.path[again:], self.frames[again].order, keyed[1])
                            return x._reexecute(self.path[:again], cycle), True
                        continue
                    # met before: its subtree's steps race with the path as if they ran next
                    new_clocks = clocks[:tid] + (vc,) + clocks[tid + 1:]
                    self.events.append((tid, fp))
                    self.vcs.append(vc)
                    self.labels.append(label)
                    summary = self._from_slots(summary, keyed[1])
                    self._summary_races(summary, new_clocks)
                    self.events.pop()
                    self.vcs.pop()
                    self.labels.pop()
                    frame.summary.add((tid, fp))
                    frame.summary |= summary
                    continue
                if child is None and len(self.frames) > run.max_steps:
                    frame.summary.add((tid, fp))
                    frame.backtrack.update(frame.enabled)
                    if self._wanted("no-livelock"):
                        return x._reexecute(self.path), True
                    continue
                self.events.append((tid, fp))
                self.vcs.append(vc)
                self.labels.append(label)
                self._push(run, keyed, clocks[:tid] + (vc,) + clocks[tid + 1:], (tid, fp))
        return None, True

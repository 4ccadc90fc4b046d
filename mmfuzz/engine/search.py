"""Exhaustive exploration: every schedule with at most K preemptions, or every schedule.

The default schedule keeps running the current task, and when it blocks or finishes
runs the lowest-numbered runnable one. A *preemption* is a step where another task
runs instead. Most races need very few (the 2026 PUD race needs one), so trying every
schedule with up to K of them, K = 0, 1, 2, ..., finds the race with the fewest
switches first, and a clean result is a proof within that bound: a statement that
fuzzing alone cannot make. With no bound (``max_preemptions=None``) a clean result
holds for every interleaving of the population.

Two searches:

- stateless: each schedule is one fresh run of the deterministic engine, named by its
  preemptions (step index, task id), indices strictly increasing, so no schedule is
  run twice. It picks the printed race: the shortest among the fewest preemptions.
- stateful (``prune=True``, and always without a bound): a depth-first search over
  states. After each step the run's state is keyed (statekey.py: the model and every
  task's generator frames; with no bound, tasks of one kind are interchangeable, see
  Explorer.key); a state already expanded with as large a remaining preemption budget
  is not expanded again.
  Generators cannot be copied, so going back to a state replays its schedule from
  the start (Run.advance: no checks, no trace). A state the key cannot capture is
  expanded without caching. A state met again on the current path with the same
  budget is a cycle: a schedule that runs forever (``no-livelock``, as the stateless
  search reports after Run.max_steps steps).

With `por` (``explore --reduce``) the search with no bound runs one order of steps
that touch different data: por.py, over the footprints footprint.py records.

With pruning, the bounded search uses the stateful search to find the first bound with
a violation (or prove there is none) and the stateless one only on that bound to pick
the race, so both print the same race; the unbounded search finds any race, then the
bounded search up to its preemptions prints the canonical one.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import time
from collections.abc import Sequence

import attrs

from .por import ReducedSearch
from .run import Run, state_id
from .statekey import Unfreezable, skip_fields, state_key
from .task import Task
from .violations import Violation

# what a task's future does not depend on: the step count, the last step's notes (and
# `locks` is the state's lock table, in the key already); its id and title are its place
# in the key's list of tasks
skip_fields(Task, ("locks", "steps", "notes", "id", "title"))


def _where(task: Task) -> tuple:
    """Where a task is, the same whatever its id: alive or not, then each frame of its
    generator chain as (function, its first line, instruction offset)."""
    out: list = [task.done, task.crashed]
    gen = task.gen
    while gen is not None and getattr(gen, "gi_frame", None) is not None:
        out += (gen.gi_code.co_name, gen.gi_code.co_firstlineno, gen.gi_frame.f_lasti)
        gen = gen.gi_yieldfrom
    return tuple(out)


@attrs.define
class ExploreResult:
    found: Violation | None
    runs: int
    bound: int | None  # the preemption bound searched to (inclusive); None: no bound
    complete: bool  # every schedule within the bound was run (or covered by a state explored)
    preemptions: int | None = None  # in the race found
    seconds: float = 0.0
    states: int = 0  # distinct states the stateful search expanded (0 when stateless)
    uncached: int = 0  # states it expanded without a key (Unfreezable)


class Explorer:
    PICK_RUNS = 20_000  # runs the stateless search may take to pick the printed race (pruning)

    def __init__(self, scenario, kernel_cls, versions, population, params, max_runs: int = 200_000,
                 max_states: int | None = None, prune: bool = False, run_kw: dict | None = None,
                 end_states: set | None = None, por: bool = False):
        self.args = (scenario, kernel_cls, population, params, versions)
        self.run_kw = dict(run_kw or {})  # passed to every Run
        self.end_states = end_states  # if a set: each run's end state id is added (campaign coverage)
        self.max_runs = max_runs
        self.max_states = max_states
        self.prune = prune
        self.por = por  # the search of every interleaving reduces (por.py): opt-in
        self.runs = 0
        self.steps = 0  # atomic steps over all runs (replayed ones included)
        self.states = 0  # distinct states of the last stateful search
        self.uncached = 0

    def new_run(self, record: bool = False) -> Run:
        return Run(*self.args, **self.run_kw, record=record)

    # -- stateless ------------------------------------------------------------------
    def execute(self, preempt: dict[int, int]):
        """Run one schedule. Returns (violation or None, alternatives per step index)."""
        self.runs += 1
        run = self.new_run()
        alternatives: list[list[int]] = []
        try:
            while True:
                default = run.default_task()
                if default is None:
                    self.steps += len(run.trace)
                    if self.end_states is not None:
                        self.end_states.add(state_id(run.state))
                    return None, alternatives
                runnable = [t.id for t in run.tasks if t.id != default and run.runnable(t)]
                alternatives.append(runnable)
                tid = preempt.get(len(alternatives) - 1, default)
                run.step(tid)
        except Violation as v:
            self.steps += len(run.trace)
            return v, alternatives

    def _schedules_with(self, k: int):
        """Yield each violation among schedules with exactly k preemptions; None if out of runs."""
        stack: list[tuple[dict[int, int], int]] = [({}, -1)]
        while stack:
            preempt, last = stack.pop()
            if self.runs >= self.max_runs:
                yield None
                return
            v, alts = self.execute(preempt)
            if len(preempt) == k:
                if v is not None:
                    yield v
                continue
            # extend with one more preemption after the last one, within the steps run
            for i in range(len(alts) - 1, last, -1):
                for tid in alts[i]:
                    stack.append((preempt | {i: tid}, i))

    def _best_with(self, k: int, invariant: str | None):
        """(shortest violation among schedules with exactly k preemptions, complete)."""
        best = None
        for v in self._schedules_with(k):
            if v is None:
                return best, False
            if invariant is not None and v.invariant != invariant:
                continue
            if best is None or len(v.run.trace) < len(best.run.trace):
                best = v
        return best, True

    # -- the search -----------------------------------------------------------------
    def search(self, max_preemptions: int | None, stop_at_first: bool = True,
               invariant: str | None = None) -> ExploreResult:
        """Every schedule with up to `max_preemptions` preemptions (None: every schedule).

        With no bound the search always stops at the first race (then printed in its
        fewest-preemption form)."""
        start = time.perf_counter()
        if max_preemptions is None:
            return self._search_all(invariant, start)
        best: Violation | None = None
        best_k = None
        complete = True
        states = 0
        for k in range(max_preemptions + 1):
            if self.prune:
                found, complete = self._dfs(k, invariant)
                states = max(states, self.states)
                # the printed race: the stateless search's pick on this bound, if affordable
                v = self._pick(k, invariant) if found is not None else None
                v, level_complete = v or found, True
            else:
                v, level_complete = self._best_with(k, invariant)
            complete = complete and level_complete
            if v is not None and (best is None or len(v.run.trace) < len(best.run.trace)):
                best, best_k = v, k
            if best is not None and stop_at_first or not complete:
                return self._result(best, k, complete, best_k, start, states)
        return self._result(best, max_preemptions, complete, best_k, start, states)

    def _pick(self, k: int, invariant: str | None) -> Violation | None:
        """The stateless search's race on bound k, within PICK_RUNS more runs (its cost grows
        exponentially with k; past the budget the stateful search's race stands, and
        canonical() shortens it)."""
        with self._pick_budget():
            return self._best_with(k, invariant)[0]

    @contextlib.contextmanager
    def _pick_budget(self):
        """At most PICK_RUNS more runs (and never past max_runs) inside the block."""
        max_runs, self.max_runs = self.max_runs, min(self.max_runs, self.runs + self.PICK_RUNS)
        try:
            yield
        finally:
            self.max_runs = max_runs

    def _result(self, found, bound, complete, preemptions, start, states) -> ExploreResult:
        return ExploreResult(found, self.runs, bound, complete, preemptions,
                             round(time.perf_counter() - start, 3), states, self.uncached)

    def _search_all(self, invariant, start) -> ExploreResult:
        found, complete = self._dfs(None, invariant)
        states = self.states
        if found is None:
            return self._result(None, None, complete, None, start, states)
        # the canonical race: the fewest preemptions, as the bounded search prints it. The
        # stateless search, bound after bound up to the race's own preemptions, finds a
        # low-preemption race in a few thousand runs where the stateful one, keyed with the
        # current task, has many more states; past PICK_RUNS the race found stands
        least = self.preemptions(found)
        with self._pick_budget():
            for k in range(least + 1):
                v, level_complete = self._best_with(k, invariant)
                if v is not None:
                    found, least = v, k
                    break
                if not level_complete:
                    break
        return self._result(found, None, True, least, start, states)

    def preemptions(self, v: Violation) -> int:
        """How many steps of the violation's schedule are not the default schedule's."""
        run = self.new_run()
        tids = [s.tid for s in v.run.trace]
        n = 0
        for i, tid in enumerate(tids):
            n += tid != run.default_task()
            if i + 1 < len(tids):  # the last step broke something: not re-run
                run.advance(tid)
        return n

    # -- the stateful search --------------------------------------------------------------
    def key(self, run: Run, with_current: bool, symmetric: bool = True):
        """(the run's state as a hashable value, the task order it was keyed in); the key
        is None if it cannot be captured.

        With no bound the key is symmetric: tasks of the same kind run the same code, so
        a state and the one with two of them swapped (their frames, their lock holds)
        have mirrored futures, and break the same invariants. The key lists the tasks of
        one kind in the order of where they are (their frames' code and offsets), each
        task id the state stores renamed to its place in that order; tasks of one kind
        at the same place are tried in every order and the least key kept. The bounded
        search counts preemptions from the current task and the default schedule prefers
        the lowest id: no symmetry there."""
        try:
            if with_current or not symmetric or not self.groups:
                return state_key(run.state, run.kernel, run.tasks, run.current if with_current else None), None
            best = None
            for order in self._orders(run):
                place = {old: new for new, old in enumerate(order)}
                k = state_key(run.state, run.kernel, [run.tasks[i] for i in order], None, tid=place.__getitem__)
                if best is None or k < best[0]:
                    best = (k, order)
            return best
        except Unfreezable:
            return None, None

    @functools.cached_property
    def groups(self) -> list[list[int]]:
        """The task ids of each kind the population runs more than once."""
        population = self.args[2]
        groups = [[i for i, kind in enumerate(population) if kind == k] for k in dict.fromkeys(population)]
        return [g for g in groups if len(g) > 1]

    def _orders(self, run: Run):
        """The task orders the symmetric key is the least over: each kind's tasks sorted by
        where they are, those at the same place in every order."""
        where = {i: _where(run.tasks[i]) for g in self.groups for i in g}
        choices = []
        for g in self.groups:
            ties = [list(v) for _, v in itertools.groupby(sorted(g, key=where.__getitem__), key=where.__getitem__)]
            choices.append([list(itertools.chain(*perm)) for perm in itertools.product(*map(itertools.permutations, ties))])
        for choice in itertools.product(*choices):
            order = list(range(len(run.tasks)))
            for g, tids in zip(self.groups, choice):
                for slot, tid in zip(g, tids):
                    order[slot] = tid
            yield tuple(order)

    @staticmethod
    def mirrored(schedule: list[int], here, there) -> list[int]:
        """A cycle of a symmetric search: `schedule` leads from a state keyed in order
        `here` to one keyed in order `there` with the same key, a mirror image. Running
        the schedule mirrored again and again comes back to the first state: that whole
        schedule repeats forever."""
        if here is None or there is None or here == there:
            return schedule
        role = {a: b for a, b in zip(here, there)}  # a task's role in the mirror image
        out, step, power = list(schedule), list(schedule), dict(role)
        while any(power[t] != t for t in power):  # until the mirror of a mirror is the first state
            step = [role[t] for t in step]
            out += step
            power = {t: role[power[t]] for t in power}
        return out

    def _replay(self, path: list[int], record: bool = False) -> Run:
        self.runs += 1
        self.steps += len(path)
        run = self.new_run(record)
        for tid in path:
            run.advance(tid)
        return run

    def _reexecute(self, path: list[int], cycle: Sequence[int] = ()) -> Violation:
        """The violation a schedule ends in, from a full run (trace, checks); a cycle
        repeats until the run is declared a livelock."""
        self.runs += 1
        run = self.new_run()
        try:
            for tid in path:
                run.step(tid)
            for _ in range(run.max_steps + 1):
                for tid in cycle:
                    run.step(tid)
        except Violation as v:
            self.steps += len(run.trace)
            return v
        raise AssertionError("the explorer's schedule does not end in the violation it found")

    def _children(self, run: Run, budget: int | None) -> list[tuple[int, int]]:
        """(task id, preemptions it costs): the default task first."""
        default = run.default_task()
        if default is None:
            return []
        out = [(default, 0)]
        if budget is None or budget > 0:
            out += [(t.id, 1) for t in run.tasks if t.id != default and run.runnable(t)]
        return out

    def invariants_broken(self, max_preemptions: int | None) -> tuple[set[str], bool]:
        """(every invariant some schedule within the bound breaks, complete): the whole
        space, not stopping at a race; stateful when pruning (or with no bound)."""
        broken: set[str] = set()
        if self.prune or max_preemptions is None:
            complete = self._dfs(max_preemptions, None, collect=broken)[1]
            return broken, complete
        for k in range(max_preemptions + 1):
            for v in self._schedules_with(k):
                if v is None:
                    return broken, False
                broken.add(v.invariant)
        return broken, True

    def _dfs(self, bound: int | None, invariant: str | None, collect: set | None = None):
        """(first violation found or None, complete) over every schedule within `bound`;
        with `collect`, every invariant broken goes there and the search goes on."""
        if bound is None and self.por:
            return ReducedSearch(self, invariant, collect).run()
        with_current = bound is not None  # the preemption a step costs depends on it
        visited: dict = {}  # key -> the largest remaining budget it was expanded with
        on_path: dict = {}  # key -> (depth, budget, task order keyed in) of the states on the current path
        self.states = 0
        run: Run | None = self._replay([])
        path: list[int] = []
        frames: list[list] = []  # [key, depth, budget, children, next child]

        def push(keyed, depth, budget):
            key, order = keyed
            if key is None:
                self.uncached += 1
            else:
                visited[key] = budget if budget is not None else 0
                on_path[key] = (depth, budget, order)
                self.states = len(visited)
            frames.append([key, depth, budget, self._children(run, budget), 0])

        assert run is not None
        push(self.key(run, with_current), 0, bound)
        while frames:
            frame = frames[-1]
            key, depth, budget, children, i = frame
            if i == len(children):
                frames.pop()
                if key is not None:
                    del on_path[key]
                continue
            if self.runs >= self.max_runs or (self.max_states is not None and len(visited) >= self.max_states):
                return None, False
            frame[4] = i + 1
            tid, cost = children[i]
            if run is None or len(path) != depth:
                run = self._replay(path[:depth])
            del path[depth:]
            path.append(tid)
            try:
                run.step(tid)
            except Violation as v:
                run = None
                if collect is not None:
                    collect.add(v.invariant)
                elif invariant is None or v.invariant == invariant:
                    return self._reexecute(path), True
                continue
            self.steps += 1
            left = budget - cost if budget is not None else None
            keyed = self.key(run, with_current)
            child = keyed[0]
            if child is not None:
                again = on_path.get(child)
                if again is not None and again[1] == left:
                    # back on the path with the same budget: this loop can run forever
                    if collect is not None:
                        collect.add("no-livelock")
                    elif invariant is None or invariant == "no-livelock":
                        cycle = self.mirrored(path[again[0]:], again[2], keyed[1])
                        return self._reexecute(path[:again[0]], cycle), True
                    continue
                if visited.get(child, -1) >= (left if left is not None else 0):
                    continue
            elif depth + 1 > run.max_steps:  # an uncached loop: the run's own livelock check
                if collect is not None:
                    collect.add("no-livelock")
                elif invariant is None or invariant == "no-livelock":
                    return self._reexecute(path), True
                continue
            push(keyed, depth + 1, left)
        return None, True

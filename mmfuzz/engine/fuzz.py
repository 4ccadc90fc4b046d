"""Fuzzing: a Hypothesis state machine per scenario, printing the canonical race.

Every machine draws the population of actors and the parameters once per example
(an initialize rule). Three machines, `schedule=`:

- "bounded" (the default): each rule runs RUNS_PER_RULE preemption-bounded schedules
  of the example's population (schedule.py) that no earlier example ran, fewest
  preemptions first, from where the rule's drawn integer points: a population's
  schedules with up to m preemptions are all run after as many runs of it as there
  are, whatever the seed, and many runs share one draw (Hypothesis's fixed cost per
  draw was most of fuzz's time).
- "pct": each rule draws one PCT schedule (random priorities, d-1 change points).
- "bursts": one rule runs one task, named by stable id, for a burst of steps (0:
  keep running the current task, what Hypothesis shrinks towards); when the drawn
  schedule ends every task runs to completion. It shrinks with Hypothesis.

The first two leave out Hypothesis's shrink phase: canonical() re-derives the printed
race from its population and invariant alone (benchmarks/bench_fuzz.py measures them).
No machine reports coverage through target(): on Max's 3-CPU question a score of
switch pairs first reached found the race in 99 of 100 seeds, none in 100 of 100
(`bench_fuzz.py --coverage`).
"""

from __future__ import annotations

import functools
import contextlib
import hashlib
import math
import time

from hypothesis import HealthCheck, Phase, Verbosity, event, seed as hyp_seed, settings as Settings, target
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from hypothesis.errors import InvalidArgument

from . import profiles
from .canonical import canonical
from .result import FuzzResult, fill_from_violation, header_for
from .run import KEEP, Run, state_id
from .schedule import MAX_DEPTH, Schedules, run_pct, run_preemptive, sequential_length
from .target import actor_bounds, check_params, prepare
from .versions import UnknownName
from .violations import Violation


# A rule runs one task for up to this many steps: races whose window holds a whole
# code path of another CPU are found far sooner than with one step per rule.
MAX_BURST = 4

# bounded machine: schedules a rule runs (the next ones not run yet from where its draw
# points), so Hypothesis's cost per draw is shared, and rules an example. Max's question
# over seeds 1..20: 32 rules of 16 found it within 61 examples but Hypothesis kept
# 46 KiB an example (498 MiB at 10k examples); 8 of 64: within 93, 17 KiB; 4 of 128:
# within 177, 11 KiB
RUNS_PER_RULE = 64
BOUNDED_RULES = 8

# the machines, the default first
SCHEDULES = ("bounded", "pct", "bursts")

# PCT machine: runs per example (each rule is one whole run, so Hypothesis's fixed cost
# per example is shared; 8 rules: 138 examples to the pagewalk race, 32: 15, 4 seeds)
PCT_RULES = 32


def slot_map(present) -> list:
    """Task id for each slot; an absent actor's slot stands for the next present one,
    so no drawn choice is wasted (and a present actor's slot never changes meaning)."""
    tid_of: dict[int, int] = {}
    for slot, here in enumerate(present):
        if here:
            tid_of[slot] = len(tid_of)
    if not tid_of:
        return [0] * len(present)
    order = sorted(tid_of)
    return [tid_of[next((s for s in order if s >= slot), order[0])] for slot in range(len(present))]


@functools.cache
def strategies(n: int, k: int):
    """The strategies of a PCT schedule of n tasks and k steps, built once (building
    and validating a strategy costs more than drawing from it)."""
    return st.permutations(range(n)), st.integers(1, MAX_DEPTH), st.integers(0, k - 1)
@contextlib.contextmanager
def own_constants():
    """Draw as if no module of the caller's were imported.

    Hypothesis (6.131+) mixes literals from every imported module outside
    site-packages into its integer draws (``providers._get_local_constants``, read
    lazily and re-read whenever ``sys.modules`` grows), so with one seed the schedules
    drawn depended on what the caller had imported: the command line, the Python API,
    pytest and a campaign worker gave different verdicts. An empty pool makes a run
    depend only on its scenario, kernel, options, population bounds, seed and budget.
    Without that internal (another Hypothesis) this does nothing;
    tests/test_input_validation.py checks the verdicts across entry points.
    """
    try:
        from hypothesis.internal.conjecture import providers

        original, cache = providers._get_local_constants, providers.CONSTANTS_CACHE
        empty = providers.Constants()
    except (ImportError, AttributeError):
        yield
        return
    providers._get_local_constants = lambda: empty
    cache.cache.clear()  # permitted values computed from the pool so far
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()


def param_strategies(scen, fixed: dict | None) -> dict:
    """The scenario's parameter strategies, with the ones the user pinned fixed."""
    # a list of values is shorthand for sampled_from (which shrinks to the first)
    strategies = {name: st.sampled_from(v) if isinstance(v, (list, tuple)) else v
                  for name, v in scen.params.items()}
    check_params(scen, fixed)
    for name, value in (fixed or {}).items():
        strategies[name] = st.just(value)
    return strategies


def preemptions(run: Run) -> int:
    """Switches away from a task that runs again later (not from one that finished)."""
    last = {s.tid: i for i, s in enumerate(run.trace)}
    return sum(1 for i, (a, b) in enumerate(zip(run.trace, run.trace[1:]))
               if a.tid != b.tid and last[a.tid] > i)


def observe_run(run: Run) -> None:
    """What one example saw, for Hypothesis's statistics."""
    event("actors: " + " + ".join(run.population))
    for func in sorted({s.func for s in run.trace}):
        event(f"path reached: {func}")
    n = preemptions(run)
    event(f"preemptions: {n if n < 4 else '4+'}")
    # the invariants are checked after every step
    target(float(len(run.trace)), label="invariant checks (steps run)")
    target(float(n), label="preemptions")
    target(float(len({s.label for s in run.trace})), label="distinct steps reached")


# Hypothesis keeps ~17 KiB of bookkeeping per example for the whole run (its tree of
# choices): a long budget runs as several Hypothesis runs of at most this many
# examples, so a 50k-example nightly stays within the memory of one such run. The
# machines' own memory (the schedules a population has left) carries over.
CHUNK_EXAMPLES = 10_000


class _Found(BaseException):
    """Raised through Hypothesis at the first violation of a machine that leaves
    shrinking to canonical(): Hypothesis re-raises a BaseException at once (saving the
    example to a database, if any) instead of replaying the example and formatting its
    tracebacks twice, which was most of the cost after a quick find. Not an Exception,
    so that nothing between the rule and fuzz() mistakes it for a model bug."""


class _AllRun(BaseException):
    """Raised through Hypothesis when every schedule within the bound of every
    population and parameter combination has run: no later example can run anything
    (a small row's nightly budget was mostly examples that did nothing)."""


def draw_targets(scen, bounds, pinned) -> int | None:
    """How many (population, parameters) the machine draws from, or None when a
    parameter is a strategy (values without end). Distinct values by repr, as keyed."""
    n = math.prod(hi - lo + 1 for lo, hi in bounds.values())
    for name, choice in scen.params.items():
        if name in (pinned or {}):
            continue
        if not isinstance(choice, (list, tuple)):
            return None
        n *= len({repr(c) for c in choice})
    return n


def _run_machine(machine, settings, seed, key: bytes) -> None:
    """run_state_machine_as_test, with the database key given rather than digested.

    Hypothesis hashes the source of the machine class (parsing this whole module) and
    of its own test function (tokenizing it) on every run, about 20 ms, more than a
    quick find's runs take; the key only names the test in an example database, and
    ours names what is fuzzed (a digest of the source named every scenario the same).
    The factory is a partial, whose source Hypothesis does not look for. The seed and
    the settings are the same as through run_state_machine_as_test, so are the draws.
    """
    try:
        from hypothesis.stateful import get_state_machine_test
    except ImportError:  # another Hypothesis: the public way, digests and all
        run_state_machine_as_test(machine if seed is None else hyp_seed(seed)(machine), settings=settings)
        return
    factory = functools.partial(machine)
    factory._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]  # what @seed sets and the test reads
    test = get_state_machine_test(factory, settings=settings)
    test._hypothesis_internal_database_key = key
    test()


def _run_in_chunks(machine, cfg, seed, counter, found, key: bytes) -> None:
    """The machine with cfg.max_examples, CHUNK_EXAMPLES at a time; the first chunk
    with `seed` itself (a budget within one chunk runs as it always has), the k-th with
    "seed/k"."""
    left, chunk = cfg.max_examples, 0
    while left > 0 and not found:
        n = min(CHUNK_EXAMPLES, left)
        before = counter["examples"]
        _run_machine(machine, Settings(cfg, max_examples=n),
                     seed if seed is None or chunk == 0 else f"{seed}/{chunk}", key)
        ran = counter["examples"] - before
        if ran < n:
            return  # Hypothesis ran out of distinct examples: another chunk finds no more
        left -= n
        chunk += 1


def fuzz(scenario: str, kernel: str, *, overrides=None, options=None, counts=None,
         params=None, seed: int | None = None, max_examples: int | None = None,
         profile: str | None = None, database=None, explain: bool = False,
         minimize_race: bool = True, observe: bool = False, schedule: str = "bounded",
         end_states: set | None = None) -> FuzzResult:
    """observe: record what each example saw with event() and target(), for
    Hypothesis's statistics (pytest --hypothesis-show-statistics). Off by default:
    target() steers the search, and a seed must find the same race with or without it.
    schedule: one of SCHEDULES (the module's docstring says what each one draws).
    end_states: a set to add the id of each example's end state to (campaign coverage)."""
    scen, versions, kernel_cls = prepare(scenario, kernel, overrides, options)
    bounds = actor_bounds(scen, counts)
    param_st = param_strategies(scen, params)
    # One slot per possible actor, in a fixed order: a schedule names slots, so dropping
    # one actor while shrinking does not renumber the others.
    slots = [(kind, i) for kind, (lo, hi) in bounds.items() for i in range(hi)]
    presence = st.tuples(*[st.just(True) if i < bounds[kind][0] else st.booleans()
                           for kind, i in slots])
    counter = {"examples": 0, "runs": 0, "steps": 0}
    found: list[Violation] = []
    if schedule not in SCHEDULES:
        raise UnknownName(f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULES)}")

    def bursts_machine() -> type[RuleBasedStateMachine]:
        class Machine(RuleBasedStateMachine):
            @initialize(present=presence, params=st.fixed_dictionaries(param_st))
            def spawn(self, present, params):
                chosen = [slot for slot, here in zip(slots, present) if here]
                self.tid_of_slot = slot_map(present)
                counter["examples"] += 1
                self.run = Run(scen, kernel_cls, [kind for kind, _ in chosen], params, versions)

            @rule(choice=st.integers(0, len(slots)), burst=st.integers(1, MAX_BURST))
            def step(self, choice, burst):
                run = self.run
                if choice != KEEP:
                    choice = self.tid_of_slot[choice - 1] + 1
                for _ in range(burst):
                    if run.all_done:
                        return
                    run.schedule(choice)
                    choice = KEEP

            def teardown(self):
                run = getattr(self, "run", None)
                if run is not None:
                    try:
                        run.finish()
                    finally:
                        counter["steps"] += len(run.trace)
                        if observe:
                            observe_run(run)
                        if end_states is not None:
                            end_states.add(state_id(run.state))
        return Machine

    lengths: dict = {}
    # the first violation ends the search, unless Hypothesis is to shrink or explain it
    # or to report its statistics (they are kept only when its run ends normally)
    quick_stop = minimize_race and not explain and not observe

    def run_one(run, runner, *plan) -> None:
        """One schedule run, counted; its violation is the race (and is raised)."""
        counter["runs"] += 1
        try:
            runner(run, *plan)
        except Violation as v:
            found.append(v)
            if quick_stop:
                raise _Found from None
            raise
        finally:
            counter["steps"] += len(run.trace)

    clean = set()  # hashes of schedules that ran clean: a run is a pure function of one

    def populate(machine, present, params) -> tuple:
        """The example's population and parameters onto the machine; returns their key."""
        machine.population = [kind for (kind, _), here in zip(slots, present) if here]
        machine.params = params
        return (tuple(machine.population), repr(sorted(params.items())))

    def pct_machine() -> type[RuleBasedStateMachine]:
        class PctMachine(RuleBasedStateMachine):
            @initialize(present=presence, params=st.fixed_dictionaries(param_st))
            def spawn(self, present, params):
                self.key = populate(self, present, params)
                self.k = sequential_length(scen, kernel_cls, versions, self.population, params, lengths)
                counter["examples"] += 1

            @rule(data=st.data())
            def pct(self, data):
                """One PCT schedule: the priority order (the identity, lowest id first, is
                the default schedule), the depth d and d-1 change points in 0..k-1, drawn
                in that order so that shrinking means fewer change points, then earlier."""
                n = len(self.population)
                if n == 0:
                    return
                order, depth, point = strategies(n, self.k)
                order = tuple(data.draw(order)) if n > 1 else (0,)
                d = data.draw(depth)
                points = tuple(sorted({data.draw(point) for _ in range(d - 1)}))
                key = hash((self.key, order, points))
                if key in clean:
                    return  # Hypothesis's mutator copies one run's choices over another's
                run_one(Run(scen, kernel_cls, self.population, self.params, versions), run_pct, order, points)
                clean.add(key)
        return PctMachine

    spaces: dict = {}  # (population, params) -> Schedules: what is left to run of it
    targets = draw_targets(scen, bounds, params)

    def all_run() -> bool:
        return len(spaces) == targets and all(s.exhausted or s.n == 0 for s in spaces.values())

    def bounded_machine() -> type[RuleBasedStateMachine]:
        class BoundedMachine(RuleBasedStateMachine):
            @initialize(present=presence, params=st.fixed_dictionaries(param_st))
            def spawn(self, present, params):
                key = populate(self, present, params)
                self.space = spaces.get(key)
                if self.space is None:
                    k = sequential_length(scen, kernel_cls, versions, self.population, params, lengths)
                    self.space = spaces[key] = Schedules(len(self.population), k)
                counter["examples"] += 1

            @rule(r=st.integers(0, 2**64 - 1))
            def preempt(self, r):
                """One schedule of this population not run yet: the drawn integer says
                where to start looking among those with the fewest preemptions left."""
                if not self.population:
                    if all_run():
                        raise _AllRun
                    return
                for _ in range(RUNS_PER_RULE):
                    plan = self.space.take(r)
                    if plan is None:  # every schedule of this population within the bound has run
                        if all_run():
                            raise _AllRun
                        return
                    run = Run(scen, kernel_cls, self.population, self.params, versions)
                    try:
                        run_one(run, run_preemptive, *plan)
                    finally:
                        self.last = run
                        if end_states is not None:
                            end_states.add(state_id(run.state))

            def teardown(self):
                # target() takes one value a label an example: the example's last run
                if observe and getattr(self, "last", None) is not None:
                    observe_run(self.last)
        return BoundedMachine

    # only the machine asked for is built (building one costs about a millisecond)
    chosen = {"pct": pct_machine, "bursts": bursts_machine}.get(schedule, bounded_machine)()
    chosen.__name__ = f"Fuzz_{scen.name.replace('-', '_')}"
    profiles.register()
    try:
        base = Settings.get_profile(profiles.resolve(profile))
    except InvalidArgument:
        raise UnknownName(f"unknown settings profile {profile!r}; known: "
                          f"{', '.join(profiles.NAMES)} (or ci, nightly)") from None
    cfg = Settings(
        base,
        max_examples=max_examples if max_examples is not None else base.max_examples,
        database=database,
        deadline=None,
        derandomize=False,
        # the PCT and bounded machines leave shrinking to canonical(), which re-derives
        # the race from its population and invariant alone
        phases=[p for p in base.phases if p != Phase.explain
                and not (p == Phase.shrink and schedule != "bursts" and minimize_race)]
        + ([Phase.explain] if explain else []),
        stateful_step_count={"bursts": base.stateful_step_count, "pct": PCT_RULES}.get(schedule, BOUNDED_RULES),
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    start = time.perf_counter()
    result = FuzzResult(scen.name, kernel, dict(scen.opts),
                        {p: v.name for p, v in sorted(versions.items()) if p in scen.paths},
                        False, 0, 0.0, pinned=sorted(params or {}))
    # names the test in an example database: what is fuzzed, with which machine
    key = hashlib.sha384(repr((scen.name, sorted(scen.opts.items()), sorted(result.versions.items()), schedule,
                               sorted(bounds.items()), sorted((params or {}).items()))).encode()).digest()
    try:
        with own_constants():
            _run_in_chunks(chosen, cfg, seed, counter, found, key)
    except _Found:
        pass  # the violation is found[0]
    except _AllRun:
        pass  # clean: every schedule the machine can draw has run
    except Violation as raised:
        found.insert(0, raised)
    except Exception:
        # the PCT machine skips schedules already run clean, so Hypothesis's re-run of
        # the failing example may differ (Flaky): the race is the one first raised
        if not found:
            raise
    finally:
        # Hypothesis keeps the rules of the last 128 machines it ran (an lru_cache in
        # RuleStrategy), and with them this call's closures: the schedules left of every
        # population (up to 19 MiB on pagewalk), and through the violation's traceback
        # every frame of the run. A process calling fuzz() again and again (a campaign
        # worker, pytest, a benchmark) grew by all of them: let go of what they hold.
        spaces.clear()
        clean.clear()
        lengths.clear()
    if found:
        v = found[0]
        if minimize_race:
            v = canonical(v, scen, kernel_cls, versions, pinned=result.pinned)
        fill_from_violation(result, v, header_for(scen, kernel, versions))
    result.examples = counter["examples"]
    result.runs = counter["runs"] or counter["examples"]
    result.executed_steps = counter["steps"]
    result.seconds = round(time.perf_counter() - start, 3)
    found.clear()  # see above
    return result

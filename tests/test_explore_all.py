"""The stateful search: `--preemptions all`, and pruning that changes no verdict.

State caching is checked, not assumed: on each scenario's small populations, for every
declared row (the racy ones are the mutants: an override, an older kernel), the search
with and without it breaks the same set of invariants within the same bound.
"""

import json

import pytest

import toy  # noqa: F401  (registers the toy scenarios)
from mmfuzz.api import SCENARIOS, exhaust, get_scenario, prepare
from mmfuzz.corpus.expect import declared
from mmfuzz.engine.locks import EXCL, SHARED, LockTable
from mmfuzz.engine.search import Explorer
from mmfuzz.engine.statekey import Unfreezable, state_key
from mmfuzz.engine.target import param_combinations
from mmfuzz.races import load as load_all

RACY = {"toy_counter": "racy"}

load_all()
ROWS = [row for name in sorted(SCENARIOS) if not name.startswith("toy-") for row in declared(name)]


def explorers(row, population, prune):
    scen, versions, kernel_cls = prepare(row.scenario, row.kernel, dict(row.overrides), dict(row.options))
    kinds = [kind for kind, n in population.items() for _ in range(n)]
    for ps in param_combinations(scen, None):
        yield ps, Explorer(scen, kernel_cls, versions, kinds, ps, prune=prune)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.scenario}-{r.label}-{r.expect}" for r in ROWS])
def test_pruning_breaks_the_same_invariants_within_the_same_bound(row):
    """Every population of the row and every parameter combination: the invariants some
    schedule within one preemption breaks, with and without state caching."""
    scen = get_scenario(row.scenario, dict(row.options))
    broken_anywhere = set()
    for population in scen.explore_with:
        bound = 1
        plain = {tuple(ps.items()): e.invariants_broken(bound) for ps, e in explorers(row, population, False)}
        pruned = {tuple(ps.items()): e.invariants_broken(bound) for ps, e in explorers(row, population, True)}
        assert pruned == plain, (population, bound)
        assert all(complete for _, complete in plain.values())
        broken_anywhere |= {inv for broken, _ in plain.values() for inv in broken}
    if row.expect == "clean":
        assert not broken_anywhere


PROVE_STATES = 3000  # per population, as a campaign's first shard: most small ones finish within it


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.scenario}-{r.label}-{r.expect}" for r in ROWS])
def test_declared_verdicts_in_every_interleaving_of_the_small_populations(row, monkeypatch):
    """--preemptions all on each small population (explore_with): a clean row breaks
    nothing in any interleaving explored, and is proved for those the search completes;
    a racy row whose populations all complete must break in one of them."""
    monkeypatch.setattr(Explorer, "PICK_RUNS", 1000)  # the verdict, not its printed form, is checked
    scen = get_scenario(row.scenario, dict(row.options))
    found, incomplete = [], []
    for population in scen.explore_with:
        r = exhaust(row.scenario, row.kernel, overrides=dict(row.overrides), options=dict(row.options),
                    counts=scen.exact_counts(population), max_preemptions=None, max_states=PROVE_STATES)
        assert r.bound == "all"
        if r.found:
            found.append(r)
        elif not r.complete:
            incomplete.append(population)
    if row.expect == "clean":
        assert not found, found[0].report
    elif not incomplete:
        assert found, f"{row.label}: no race in any interleaving of {scen.explore_with}"


@pytest.mark.parametrize("kernel", ["v2.6.20", "v2.6.23"])
def test_pruning_keeps_the_two_preemption_race_and_its_fix(kernel):
    """The 2007 race needs two preemptions: with and without pruning, found on v2.6.20
    and not on v2.6.23."""
    row = next(r for r in ROWS if r.scenario == "fault-vs-invalidate" and r.kernel == kernel)
    scen, versions, kernel_cls = prepare(row.scenario, row.kernel)
    params = {"cached": True, "bystander": False}
    found = {prune: Explorer(scen, kernel_cls, versions, ["fault", "odirect"], params, prune=prune)
             .invariants_broken(2) for prune in (False, True)}
    assert found[False] == found[True]
    assert found[True] == (({"no-dangling-pte"} if row.expect == "racy" else set()), True)


def test_every_interleaving_of_two_incrementers_loses_an_update_and_the_lock_fixes_it():
    two = {"inc": (2, 2)}
    r = exhaust("toy-lost-update", "v6.12", overrides=RACY, counts=two, max_preemptions=None)
    assert r.found and r.invariant == "no-lost-update" and r.bound == "all" and r.preemptions == 1
    assert (r.steps, r.switches) == (4, 2)  # the canonical race, as the bounded search prints it
    r = exhaust("toy-lost-update", "v6.12", overrides={"toy_counter": "atomic"}, counts={"inc": (3, 3)},
                max_preemptions=None)
    assert not r.found and r.complete and r.bound == "all" and r.states > 0


def test_a_cycle_is_a_livelock_and_a_deadlock_a_hang():
    r = exhaust("toy-spin", "v6.12", overrides=RACY, max_preemptions=None)
    assert r.found and r.invariant == "no-livelock"
    r = exhaust("toy-abba", "v6.12", overrides=RACY, max_preemptions=None)
    assert r.found and r.invariant == "no-hang"


def test_budgets_stop_the_search_incomplete():
    everyone = {"numa_maps": (1, 1), "vfio_fault": (1, 1), "vfio_zap": (1, 1), "pte_walker": (0, 0)}
    r = exhaust("pagewalk", "v7.0", counts=everyone, max_preemptions=None, max_states=50)
    assert not r.found and not r.complete and 0 < r.states <= 50 * 4
    r = exhaust("pagewalk", "v7.0", counts=everyone, max_preemptions=None, max_runs=20)
    assert not r.found and not r.complete and r.schedules <= 20


def test_the_key_tells_apart_what_the_future_depends_on():
    def loop(items):
        for x in items:  # noqa: UP028  (a for loop's iterator is what the key must see)
            yield x

    a, b = loop([5, 5, 6]), loop([5, 5, 6])
    next(a), next(b), next(b)  # both at `yield 5`, b one item further
    assert state_key(a) != state_key(b)
    next(a)
    assert state_key(a) == state_key(b)
    shared = {"x": 1}
    assert state_key([shared, shared]) != state_key([shared, {"x": 1}])  # sharing is in the key
    assert state_key(True) != state_key(1) and state_key({1}) == state_key({1})
    with pytest.raises(Unfreezable):
        state_key(open(__file__))  # noqa: SIM115  (an OS file: no value to key)


def _pairs(row):
    """Each kind the row's populations run twice, as two of it with every other kind at
    its least: the small symmetric populations."""
    scen = get_scenario(row.scenario, dict(row.options))
    dups = dict.fromkeys(kind for population in scen.explore_with for kind, n in population.items() if n > 1)
    return [{a.kind: 2 if a.kind == dup else a.min for a in scen.actors} for dup in dups]


# the kernel rows whose small symmetric populations the unbounded search completes in seconds
SYMMETRIC = [(row, population) for row in ROWS for population in _pairs(row)
             if row.scenario.startswith("pagewalk") or (row.scenario == "truncate-vs-fault-around"
                                                       and row.kernel == "v5.9" and dict(row.options).get("fs") == "xfs")]


@pytest.mark.parametrize("row,population", SYMMETRIC,
                         ids=[f"{r.scenario}-{r.label}-{r.expect}-{p}" for r, p in SYMMETRIC])
def test_the_symmetric_key_breaks_the_same_invariants_in_every_interleaving(row, population):
    """With no bound, tasks of one kind are interchangeable in the key: the search with
    that symmetry and without it breaks the same invariants, and merges states."""
    for ps, e in explorers(row, population, True):
        plain = Explorer(*e.args[:2], e.args[4], e.args[2], ps, max_states=5000)
        plain.groups = []  # no symmetry
        symmetric = Explorer(*e.args[:2], e.args[4], e.args[2], ps)
        assert [len(g) for g in symmetric.groups] == [2]
        broken, complete = plain.invariants_broken(None)
        assert complete, ps
        assert symmetric.invariants_broken(None) == (broken, True), ps
        assert symmetric.states < plain.states


@pytest.mark.parametrize("version", ["racy", "trylock"])
def test_three_symmetric_incrementers_lose_an_update_unless_locked(version):
    scen, versions, kernel_cls = prepare("toy-lost-update", "v6.12", {"toy_counter": version})
    plain = Explorer(scen, kernel_cls, versions, ["inc"] * 3, {})
    plain.groups = []
    symmetric = Explorer(scen, kernel_cls, versions, ["inc"] * 3, {})
    assert symmetric.groups == [[0, 1, 2]]
    expect = ({"no-lost-update"} if version == "racy" else set(), True)
    assert plain.invariants_broken(None) == symmetric.invariants_broken(None) == expect
    assert symmetric.states < plain.states


def test_a_mirrored_cycle_repeats_until_every_task_is_back_in_its_role():
    assert Explorer.mirrored([0, 2], (0, 1, 2), (0, 1, 2)) == [0, 2]
    assert Explorer.mirrored([0, 0, 1], (0, 1), (1, 0)) == [0, 0, 1, 1, 1, 0]
    # a rotation of three: three laps before each task is back where it started
    assert Explorer.mirrored([0], (0, 1, 2), (1, 2, 0)) == [0, 1, 2]


def test_the_key_leaves_out_dead_locals_and_keeps_live_ones():
    def walk(first, later):
        pfn = first  # dead after the first yield: reassigned before any read
        yield pfn
        pfn = later
        yield pfn

    def handler(first):
        seen = first  # read only by the except clause: live while the try can raise
        try:
            yield 0
        except ValueError:
            yield seen

    a, b = walk(1, 7), walk(2, 7)
    next(a), next(b)
    assert state_key(a) == state_key(b)  # at the first yield pfn is dead
    a, b = walk(1, 7), walk(1, 8)
    next(a), next(b)
    assert state_key(a) != state_key(b)  # `later` is live
    a, b = handler(1), handler(2)
    next(a), next(b)
    assert state_key(a) != state_key(b)


def test_the_key_does_not_depend_on_the_order_frame_locals_were_first_seen_in():
    def late(x, flag):
        if flag:
            a = x  # `a` takes a slot before `b`...
        b = x
        yield 0
        a = x  # ...but is bound after it
        yield 1
        yield a + b

    def at_second_yield(seen_early):
        g = late(5, False)
        next(g)
        if seen_early:
            state_key(g)  # f_locals is read while `a` is unbound: it lists `a` last from now on
        next(g)
        return g

    assert state_key([at_second_yield(True), at_second_yield(False)]) == \
        state_key([at_second_yield(False), at_second_yield(False)])


def test_the_key_of_the_lock_table_is_who_holds_what_not_in_which_order():
    one, two = LockTable(), LockTable()
    one.acquire("mmap_lock", SHARED, 1)
    one.acquire("mmap_lock", SHARED, 2)
    one.acquire("ptl:0x14", EXCL, 1)
    two.acquire("ptl:0x14", EXCL, 1)
    two.acquire("mmap_lock", SHARED, 2)
    two.acquire("mmap_lock", SHARED, 1)
    assert state_key(one) == state_key(two)
    two.release("ptl:0x14", 1)
    two.acquire("ptl:0x14", EXCL, 2)
    assert state_key(one) != state_key(two)


@pytest.mark.parametrize("kernel,expect", [("v6.12", "no-illegal-read"), ("v7.0", None)])
def test_every_interleaving_of_a_walker_and_a_fault(kernel, expect):
    """The 2026 race, with no bound: v6.12 breaks (printed with its one preemption),
    and no interleaving of the walker and the fault breaks the fix."""
    r = exhaust("pagewalk", kernel, counts={"numa_maps": (1, 1), "vfio_fault": (1, 1), "vfio_zap": (0, 0),
                                            "pte_walker": (0, 0), "bar_pte_walker": (0, 0)},
                max_preemptions=None)
    assert r.complete and r.bound == "all"
    assert (r.invariant if r.found else None) == expect
    if r.found:
        assert r.preemptions == 1


def test_every_interleaving_of_the_jan_2007_rfc_keeps_a_cow_page_past_eof():
    row = next(r for r in ROWS if r.scenario == "fault-vs-truncate" and r.expect == "racy")
    r = exhaust(row.scenario, row.kernel, overrides=dict(row.overrides),
                counts=get_scenario(row.scenario).exact_counts({"cow": 1, "truncate": 1}), max_preemptions=None)
    assert r.found and r.invariant == "no-pte-beyond-eof"


# -- the partial-order reduction (engine/por.py, engine/footprint.py) ------------------------

REDUCE_STATES = 300  # per search: most small populations finish within it


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.scenario}-{r.label}-{r.expect}" for r in ROWS])
def test_the_reduction_breaks_the_same_invariants_in_every_interleaving(row):
    """Every small population of the row and every parameter combination, with no bound:
    the search with the partial-order reduction breaks the same invariants as the one
    without, and completes wherever that one does (the racy rows are the mutants: an
    override, an older kernel)."""
    scen = get_scenario(row.scenario, dict(row.options))
    compared = 0
    for budget in (REDUCE_STATES, 10 * REDUCE_STATES):  # the larger one if none finished within the small
        for population in scen.explore_with[:None if budget == REDUCE_STATES else 1]:
            for ps, plain in explorers(row, population, True):
                plain.por, plain.max_states = False, budget
                broken, complete = plain.invariants_broken(None)
                if not complete:
                    continue
                reduced = Explorer(*plain.args[:2], plain.args[4], plain.args[2], ps, max_states=budget, por=True)
                assert reduced.invariants_broken(None) == (broken, True), (population, ps)
                compared += 1
                if budget > REDUCE_STATES:
                    break
        if compared:
            return
    # a retry loop that keeps making new states (fault-vs-truncate: truncate_count)
    pytest.skip(f"no small population of the row finishes within {10 * REDUCE_STATES} states")


def test_cpus_that_share_nothing_are_run_in_one_order():
    """Four CPUs with counters of their own: every interleaving is the same, and the
    reduction runs one (its states are the steps of one schedule); without it every
    interleaving's states are visited."""
    scen, versions, kernel_cls = prepare("toy-per-cpu", "v6.12", RACY)
    reduced = Explorer(scen, kernel_cls, versions, ["own"] * 4, {}, por=True)
    plain = Explorer(scen, kernel_cls, versions, ["own"] * 4, {})
    assert reduced.invariants_broken(None) == plain.invariants_broken(None) == (set(), True)
    assert reduced.states == 4 * 2 + 1
    assert plain.states == 3 ** 4  # each CPU before, between or after its two steps


def test_a_cpu_that_shares_nothing_runs_once_among_racing_ones():
    """Two CPUs race on a counter, a third (the last, which the default schedule runs
    last) has its own: the reduced search runs the third first, once, so it adds its
    two steps' states and nothing more, and breaks what the unreduced search breaks."""
    scen, versions, kernel_cls = prepare("toy-racing-and-own", "v6.12", RACY)

    def search(population, por):
        x = Explorer(scen, kernel_cls, versions, population, {}, por=por)
        return x.invariants_broken(None), x.states

    racing, racing_states = search(["inc"] * 2, True)
    (broken, complete), states = search(["inc", "inc", "own"], True)
    assert racing == (broken, complete) == ({"no-lost-update"}, True)
    assert search(["inc", "inc", "own"], False)[0] == (broken, complete)
    assert states == racing_states + 2


def test_the_reduction_still_loses_the_update_of_racing_cpus():
    scen, versions, kernel_cls = prepare("toy-lost-update", "v6.12", {"toy_counter": "racy"})
    reduced = Explorer(scen, kernel_cls, versions, ["inc"] * 3, {}, por=True)
    assert reduced.invariants_broken(None) == ({"no-lost-update"}, True)


def test_footprints_name_slots_locks_and_the_checks_reads():
    """A dict of the state records the key a step reads or writes, a new key its shape;
    lock operations conflict only when they may: two shared acquisitions commute, and
    a blocking acquisition never races with the release of the lock its waiter needs."""
    from mmfuzz.engine.footprint import ACQ_EXCL, ACQ_SHARED, ALL, REL_EXCL, SHAPE, TRY, Footprint

    def fp(reads=(), writes=(), **locks):
        return Footprint(frozenset(reads), frozenset(writes), {k: frozenset(v) for k, v in locks.items()})

    pages = ("S", "files", "f", "pages")
    assert fp(reads=[(pages, 0)]).conflict(fp(writes=[(pages, 1), (pages, SHAPE)])) == 0
    assert fp(reads=[(pages, 1)]).conflict(fp(writes=[(pages, 1), (pages, SHAPE)])) == 2
    assert fp(reads=[(pages, ALL)]).conflict(fp(writes=[(pages, 1), (pages, SHAPE)])) == 2
    assert fp(writes=[(pages, 0), (pages, SHAPE)]).conflict(fp(writes=[(pages, 1), (pages, SHAPE)])) == 2
    assert fp(reads=[(pages, 0)]).conflict(fp(reads=[(pages, 0)])) == 0
    assert fp(mmap_lock=[ACQ_SHARED]).conflict(fp(mmap_lock=[ACQ_SHARED])) == 0
    assert fp(mmap_lock=[ACQ_EXCL]).conflict(fp(mmap_lock=[ACQ_SHARED])) == 2
    assert fp(A=[ACQ_EXCL]).conflict(fp(A=[REL_EXCL])) == 1  # ordered, never a race
    assert fp(A=[TRY]).conflict(fp(A=[REL_EXCL])) == 2  # a failed trylock would succeed after it
    assert fp(A=[ACQ_EXCL]).conflict(fp(B=[ACQ_EXCL])) == 0


def test_footprints_of_a_run_name_what_each_step_touched():
    from mmfuzz.engine.footprint import tracking
    from mmfuzz.engine.run import Run
    from mmfuzz.engine.task import Task

    scen, versions, kernel_cls = prepare("toy-lost-update", "v6.12", {"toy_counter": "racy"})
    with tracking(Task):
        run = Run(scen, kernel_cls, ["inc", "inc"], {}, versions, record=True)
        run.step(0)  # R(counter): the step is the code after it
        load = run.footprint
        run.step(0)
        store = run.footprint
    counter = (("S", "extra"), "counter")
    assert counter in load.reads and not load.writes
    assert counter in store.writes and (("S", "extra"), "done") in store.writes
    assert load.conflict(store) == 2
    # the hooks are gone after the search: a plain run records nothing
    assert type(Task.__dict__["seen"]).__name__ == "member_descriptor"


def _commuting_pairs(row, population, walks, seed):
    """Steps of two tasks whose footprints are independent, run in both orders from
    states of random schedules: (pairs checked, pairs whose two states differ)."""
    import random

    from mmfuzz.engine.footprint import tracking
    from mmfuzz.engine.task import Task
    from mmfuzz.engine.violations import Violation

    rng = random.Random(seed)
    checked = differ = 0
    with tracking(Task):
        for _ps, e in explorers(row, population, False):
            for _ in range(walks):
                path: list[int] = []
                while True:
                    run = e._replay(path, record=True)
                    enabled = [t.id for t in run.tasks if run.runnable(t)]
                    if not enabled:
                        break
                    a, b = rng.sample(enabled, 2) if len(enabled) > 1 else (enabled[0], None)
                    if b is not None:
                        ends = []
                        for first, second in ((a, b), (b, a)):
                            try:
                                r = e._replay(path, record=True)
                                r.step(first)
                                f1 = r.footprint
                                if not r.runnable(r.tasks[second]):
                                    break
                                r.step(second)
                                ends.append((f1.conflict(r.footprint), e.key(r, False, symmetric=False)[0]))
                            except Violation:
                                break
                        if len(ends) == 2 and ends[0][0] == 0:
                            checked += 1
                            differ += ends[0][1] != ends[1][1] or ends[1][0] != 0
                    try:
                        run.step(rng.choice(enabled))
                    except Violation:
                        break
                    path.append(run.trace[-1].tid)
    return checked, differ


COMMUTE = [(row, population) for row in ROWS for population in get_scenario(row.scenario, dict(row.options)).explore_with[:1]
           if row.expect == "racy"]


@pytest.mark.parametrize("row,population", COMMUTE, ids=[f"{r.scenario}-{r.label}" for r, _ in COMMUTE])
def test_independent_steps_commute(row, population):
    """What the reduction rests on: two steps its footprints call independent lead to
    the same state in either order (and stay independent), from states of random
    schedules of each racy row."""
    checked, differ = _commuting_pairs(row, population, walks=3, seed=1)
    assert differ == 0
    assert checked > 0


def test_explore_reduce_gives_the_same_verdict_in_fewer_states(capsys):
    """`explore --preemptions all --reduce` through the command: the per-CPU counters
    are proved in one schedule's states, the racy counter still loses an update."""
    from mmfuzz.cli import main

    toy_with = ["--kernel", "v6.12", "--with", "toy_counter=racy"]
    args = ["explore", "toy-per-cpu", *toy_with, "--actors", "own=4", "--preemptions", "all", "--json"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*args, "--reduce"]) == 0
    reduced = json.loads(capsys.readouterr().out)
    assert plain["complete"] and reduced["complete"] and (plain["states"], reduced["states"]) == (81, 9)
    assert main(["explore", "toy-lost-update", *toy_with, "--actors", "inc=2", "--preemptions", "all",
                 "--reduce"]) == 1

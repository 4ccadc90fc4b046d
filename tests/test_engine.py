"""The engine on toy races: scheduling, blocking, hangs, crashes, shrinking, replay."""

import pytest

import toy  # noqa: F401  (registers the toy scenarios)
from mmfuzz.api import fuzz, prepare
from mmfuzz.engine.run import Run, StaleSchedule
from mmfuzz.engine.violations import Violation

RACY = {"toy_counter": "racy"}
ATOMIC = {"toy_counter": "atomic"}


def new_run(name, population, overrides=RACY):
    scen, versions, kernel = prepare(name, "v6.12", overrides)
    return Run(scen, kernel, population, {}, versions)


def test_lost_update_shrinks_to_the_minimal_race():
    r = fuzz("toy-lost-update", "v6.12", overrides=RACY, seed=3, max_examples=200)
    assert r.found and r.invariant == "no-lost-update"
    # A: load, B: load, B: store, A: store -- two CPUs, two switches, four steps
    assert r.population == ["inc", "inc"]
    assert (r.steps, r.switches) == (4, 2)


def test_the_locked_increment_is_clean():
    r = fuzz("toy-lost-update", "v6.12", overrides=ATOMIC, seed=3, max_examples=200)
    assert not r.found


def test_same_schedule_same_trace():
    traces = []
    for _ in range(2):
        run = new_run("toy-lost-update", ["inc", "inc", "inc"], ATOMIC)
        for choice in (1, 2, 3, 0, 2, 1, 0):
            run.schedule(choice)
        run.finish()
        traces.append([(s.tid, s.label, s.notes) for s in run.trace])
    assert traces[0] == traces[1] and len(traces[0]) == 3


def test_abba_deadlock_is_a_hang_naming_the_holders():
    r = fuzz("toy-abba", "v6.12", overrides=RACY, seed=1, max_examples=200)
    assert r.found and r.invariant == "no-hang"
    assert "held by A then B" in r.message and "held by B then A" in r.message


def test_a_crashed_task_keeps_its_locks():
    run = new_run("toy-crash", ["crash", "waiter"])
    run.step(0)  # takes A
    with pytest.raises(Violation) as exc:
        run.step(0)
    assert exc.value.invariant == "no-illegal-read"
    assert run.state.locks.holds("A", 0) and run.tasks[0].crashed
    assert not run.runnable(run.tasks[1])  # the waiter blocks on A forever


def test_a_spinning_task_is_a_livelock_not_a_hung_fuzzer():
    r = fuzz("toy-spin", "v6.12", overrides=RACY, seed=1, max_examples=5)
    assert r.found and r.invariant == "no-livelock"


def test_replay_reproduces_and_detects_stale_schedules():
    r = fuzz("toy-lost-update", "v6.12", overrides=RACY, seed=3, max_examples=200)
    steps = r.schedule["steps"]
    run = new_run("toy-lost-update", r.schedule["population"])
    with pytest.raises(Violation) as exc:
        run.replay(steps)
    assert exc.value.invariant == "no-lost-update"
    # the fixed code has other steps: the schedule no longer fits
    run = new_run("toy-lost-update", r.schedule["population"], ATOMIC)
    with pytest.raises(StaleSchedule):
        run.replay(steps)


def test_steps_are_named_after_the_innermost_kernel_function():
    """A @primitive helper's steps are its caller's, also when two kernel functions share
    it; an @inline block's are the function's it belongs to, also in a version that
    overrides the block without repeating @inline; a kernel function's are its own."""
    from mmfuzz.api import Actor, KernelCode, Scenario, State, code_path, inline, primitive, spin_lock, spin_unlock
    from mmfuzz.engine.versions import PATHS, compose

    @primitive
    def shared_helper(t):
        yield "helper step"
        yield from spin_lock(t, "L")
        spin_unlock(t, "L")

    path = code_path("toy_names", file="toy.c", doc="step names")
    try:
        @path.version("v1", models="a function with a block and a helper")
        class V1(KernelCode):
            def outer(self, t):
                yield "outer step"
                yield from shared_helper(t)
                yield from self._block(t)
                yield from self.callee(t)

            @inline
            def _block(self, t):
                yield "block step"

            def callee(self, t):
                yield from shared_helper(t)

        @path.version("v2", models="the block overridden")
        class V2(V1):
            def _block(self, t):
                yield "new block step"
                yield from shared_helper(t)

        class Names(Scenario):
            name = "toy-names"
            actors = (Actor("a", "a", lambda k, t, s: k.outer(t), min=1),)

            def initial_state(self, k, params):
                return State()

        helper = ["helper step", "spin_lock(L)"]
        for version, block in (("v1", ["block step"]), ("v2", ["new block step", *helper])):
            run = Run(Names(), compose({"toy_names": path.versions[version]}), ["a"], {})
            run.finish()
            assert [s.label for s in run.trace] == (
                [f"outer: {x}" for x in ["outer step", *helper, *block]] + [f"callee: {x}" for x in helper])
    finally:
        del PATHS["toy_names"]


def test_compose_takes_only_the_scenarios_paths_and_names_a_missing_one():
    """A version of another path defining the same function does not clash, and a call
    to a function no declared path defines names the path that does."""
    from mmfuzz.api import KernelCode, MissingCodePath, code_path
    from mmfuzz.engine.versions import PATHS, compose

    other = code_path("toy_other_path", file="toy.c", doc="defines a function of toy_counter too")
    try:
        @other.version("v1", models="a clash", since="v2.6.20")
        class Clash(KernelCode):
            def helper_only_here(self):
                return 1

        scen, versions, kernel_cls = prepare("toy-lost-update", "v2.6.20", {"toy_counter": "racy"})
        assert "toy_other_path" in versions and "toy_other_path" not in scen.paths
        kernel = kernel_cls()
        with pytest.raises(MissingCodePath, match=r"helper_only_here\(\).*toy_other_path \(v1\)"):
            kernel.helper_only_here()
        both = compose({"a": versions["toy_counter"], "b": other.versions["v1"]})
        assert both().helper_only_here() == 1
    finally:
        del PATHS["toy_other_path"]


def test_pct_schedules_find_the_lost_update_and_keep_the_lock_clean():
    r = fuzz("toy-lost-update", "v6.12", overrides=RACY, seed=3, max_examples=50, schedule="pct")
    assert r.found and r.invariant == "no-lost-update" and (r.steps, r.switches) == (4, 2)
    assert not fuzz("toy-lost-update", "v6.12", overrides=ATOMIC, seed=3, max_examples=20, schedule="pct").found


def test_run_pct_demotes_the_running_task_at_a_change_point():
    from mmfuzz.engine.schedule import run_pct
    run = new_run("toy-lost-update", ["inc", "inc"], ATOMIC)
    run_pct(run, [1, 0], [1])  # task 1 first; at step 1 it drops below task 0
    tids = [s.tid for s in run.trace]
    assert tids[0] == 1 and tids[1] == 0


def test_bounded_schedules_are_each_handed_out_once_fewest_preemptions_first():
    from itertools import combinations
    from math import comb

    from mmfuzz.engine.schedule import MAX_PREEMPTIONS, Schedules, unrank_combination
    for k in range(6):
        for m in range(4):
            assert sorted(unrank_combination(i, k, m) for i in range(comb(k, m))) == list(combinations(range(k), m))
    space, seen, r = Schedules(3, 5), [], 0
    while (plan := space.take(r)) is not None:
        seen.append(plan)
        r = r * 31 + 7  # any draws: the space decides what is left
    assert len(set(seen)) == len(seen) == sum(comb(5, m) * 2 ** m for m in range(MAX_PREEMPTIONS + 1))
    assert [len(points) for points, _ in seen] == sorted(len(points) for points, _ in seen)
    assert space.exhausted and Schedules(1, 9).take(0) == ((), ()) and Schedules(1, 9).size == 1


def test_run_preemptive_switches_to_another_runnable_task_at_a_point():
    from mmfuzz.engine.schedule import run_preemptive
    default = new_run("toy-lost-update", ["inc", "inc", "inc"], ATOMIC)
    default.finish()
    run = new_run("toy-lost-update", ["inc", "inc", "inc"], ATOMIC)
    run_preemptive(run, (), ())
    assert run.trace == default.trace
    run = new_run("toy-lost-update", ["inc", "inc", "inc"])
    with pytest.raises(Violation):  # at step 1, the second runnable task after task 0
        run_preemptive(run, (1,), (1,))
    assert [s.tid for s in run.trace] == [0, 2, 2, 0]  # then the default: keep it, then task 0


def test_the_default_machine_finds_the_lost_update_and_keeps_the_lock_clean():
    r = fuzz("toy-lost-update", "v6.12", overrides=RACY, seed=3, max_examples=5)
    assert r.found and r.invariant == "no-lost-update" and (r.steps, r.switches) == (4, 2)
    assert r.runs > r.examples
    clean = fuzz("toy-lost-update", "v6.12", overrides=ATOMIC, seed=3, max_examples=5)
    assert not clean.found and clean.runs > 0


def test_a_long_budget_runs_in_chunks(monkeypatch):
    """A budget past CHUNK_EXAMPLES runs as several Hypothesis runs (bounded memory):
    every example of the budget runs, a race is still found, and the same seed gives
    the same result."""
    from mmfuzz.engine import fuzz as fuzz_module

    calls = []
    real = fuzz_module._run_machine
    monkeypatch.setattr(fuzz_module, "CHUNK_EXAMPLES", 4)
    # the toy's 32 schedules all run within the first chunk: no stopping there
    monkeypatch.setattr(fuzz_module, "draw_targets", lambda *args: None)
    monkeypatch.setattr(fuzz_module, "_run_machine",
                        lambda machine, settings, *rest: calls.append(settings.max_examples) or real(machine, settings, *rest))
    clean = fuzz("toy-lost-update", "v6.12", overrides={"toy_counter": "atomic"}, seed=3, max_examples=10)
    assert not clean.found and calls == [4, 4, 2] and clean.examples >= 10
    racy = [fuzz("toy-lost-update", "v6.12", overrides={"toy_counter": "racy"}, seed=3, max_examples=40)
            for _ in range(2)]
    assert racy[0].found and racy[0].invariant == "no-lost-update"
    assert racy[0].schedule == racy[1].schedule and racy[0].examples == racy[1].examples


def test_the_first_violation_ends_the_search_and_the_database_key_names_the_target(monkeypatch):
    """No schedule runs after the one that broke an invariant (Hypothesis does not replay
    the example); the race saved to an example database is keyed by what was fuzzed, so
    two scenarios keep two keys, and a second run with it finds the same race."""
    from hypothesis.database import InMemoryExampleDatabase

    from mmfuzz.engine import fuzz as fuzz_module

    outcomes = []
    real = fuzz_module.run_preemptive

    def counted(run, points, offsets):
        try:
            real(run, points, offsets)
        except Violation:
            outcomes.append("violation")
            raise
        outcomes.append("clean")

    monkeypatch.setattr(fuzz_module, "run_preemptive", counted)
    db = InMemoryExampleDatabase()
    first = fuzz("toy-lost-update", "v6.12", overrides=RACY, seed=3, max_examples=5, database=db)
    assert first.found and outcomes[-1] == "violation" and outcomes.count("violation") == 1
    assert first.runs == len(outcomes)
    assert fuzz("toy-abba", "v6.12", overrides=RACY, seed=3, max_examples=50, database=db).found
    assert len(db.data) == 2
    again = fuzz("toy-lost-update", "v6.12", overrides=RACY, seed=4, max_examples=5, database=db)
    assert again.found and again.schedule == first.schedule and again.examples == 1


def test_the_bounded_machine_stops_once_every_schedule_it_can_draw_has_run():
    """Past that point an example runs nothing: the budget's rest is not spent, and the
    schedules run are all those of every population (1..3 incrementers) within the bound."""
    from math import comb

    from mmfuzz.engine.fuzz import draw_targets
    from mmfuzz.engine.schedule import MAX_PREEMPTIONS, sequential_length

    scen, versions, kernel = prepare("toy-lost-update", "v6.12", ATOMIC)
    assert draw_targets(scen, {"inc": (1, 3)}, None) == 3
    total = 0
    for n in (1, 2, 3):
        k = sequential_length(scen, kernel, versions, ["inc"] * n, {}, {})
        total += sum(comb(k, m) * (n - 1) ** m for m in range(MAX_PREEMPTIONS + 1))
    r = fuzz("toy-lost-update", "v6.12", overrides=ATOMIC, seed=3, max_examples=5000)
    assert not r.found and r.runs == total and r.examples < 5000
    assert fuzz("toy-lost-update", "v6.12", overrides=ATOMIC, seed=3, max_examples=6000).examples == r.examples


def test_a_fuzz_call_lets_go_of_its_schedules_and_its_race():
    """Hypothesis caches the rules of the machines it ran, and with them each call's
    closures: a process fuzzing again and again must not keep every call's schedules
    left and violation (with every frame of its run)."""
    import gc

    from mmfuzz.engine.schedule import Schedules

    def alive():
        gc.collect()
        return sum(isinstance(o, (Schedules, Violation)) for o in gc.get_objects())

    before = alive()
    for seed in (1, 2, 3):
        assert fuzz("toy-lost-update", "v6.12", overrides=RACY, seed=seed, max_examples=20).found
    assert alive() <= before

"""The package's scenario: two CPUs bump the statistics counter."""

from mmfuzz.api import Actor, InvariantBroken, Scenario, State, new_mm, scenario


def _inc(k, t, s):
    return k.mm_stat_inc(t)


@scenario
class LostStatUpdate(Scenario):
    name = "example-lost-update"
    doc = "two CPUs bump mm->stat: one update is lost without the lock"
    paths = ("example_stat_counter",)
    actors = (Actor("inc", "stat bumper", _inc, min=1, max=2),)
    racy_on = ({"kernel": "v4.8"},)
    # the clean verdict rests on the lock: without it the update is lost again
    clean_on = ({"kernel": "v4.9", "rests_on": {"spin_lock(stat_lock) in mm_stat_inc": "no-lost-update"}},)
    explore_with = ({"inc": 2},)

    def initial_state(self, k, params):
        s = State(extra={"counter": 0, "done": 0})
        s.mms.append(new_mm(s.mem, mmap_lock="mmap_sem"))  # v4.x: the rwsem is mm->mmap_sem
        return s

    def on_finish(self, run, task):
        s = run.state.extra
        if s["counter"] != s["done"]:
            raise InvariantBroken("no-lost-update", f"mm->stat is {s['counter']} after {s['done']} updates")

    def describe(self, run):
        return f"mm->stat = {run.state.extra['counter']}"

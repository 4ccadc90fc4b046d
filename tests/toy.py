"""Toy code paths and scenarios for testing the engine itself (not kernel models)."""

from __future__ import annotations

from mmfuzz.api import Actor, InvariantBroken, KernelCode, Oops, Scenario, State, code_path, scenario, spin_lock, spin_unlock

toy = code_path("toy_counter", file="toy.c", doc="a counter, a pair of locks, a crash and a spin")


@toy.version("racy", models="counter++ as a load and a store")
class ToyRacy(KernelCode):
    """Non-atomic increment."""

    def increment(self, t):
        yield "R(counter)"
        v = self.s.extra["counter"]
        yield "W(counter)"
        self.s.extra["counter"] = v + 1
        self.s.extra["done"] += 1

    def own_counter(self, t):
        """counter++ on this CPU's own counter: shares nothing with the other CPUs."""
        mine = t.seen["counter"] = f"cpu{t.id}"  # at spawn: the id goes nowhere the key leaves out
        yield f"R({mine})"
        v = self.s.extra[mine]
        yield f"W({mine})"
        self.s.extra[mine] = v + 1

    def lock_ab(self, t, first, second):
        yield from spin_lock(t, first)
        yield from spin_lock(t, second)
        spin_unlock(t, second)
        spin_unlock(t, first)

    def crash_holding(self, t):
        yield from spin_lock(t, "A")
        yield "deref"
        raise Oops("boom")

    def spin_forever(self, t):
        while True:
            yield "cpu_relax"


@toy.version("atomic", models="counter++ under a lock")
class ToyAtomic(ToyRacy):
    """Increment under spinlock A."""

    def increment(self, t):
        yield from spin_lock(t, "A")
        self.s.extra["counter"] += 1
        self.s.extra["done"] += 1
        spin_unlock(t, "A")


@toy.version("locked", models="counter++ as a load and a store, under a lock")
class ToyLocked(ToyRacy):
    """The load and the store under spinlock A."""

    def increment(self, t):
        yield from spin_lock(t, "A")
        yield from ToyRacy.increment(self, t)
        spin_unlock(t, "A")


@toy.version("trylock", models="counter++ under a lock: a trylock, else spin_lock()")
class ToyTrylock(ToyRacy):
    """The load and the store under spinlock A, taken by spin_trylock() or else spin_lock()."""

    def increment(self, t):
        yield "spin_trylock(A)"
        if not t.locks.try_acquire("A", "excl", t.id):
            yield from spin_lock(t, "A")
        yield from ToyRacy.increment(self, t)
        spin_unlock(t, "A")


@toy.version("locked-unlocked", mutant=True, models="the locked increment without its lock")
class ToyLockedUnlocked(ToyLocked):
    """Mutant: the load and the store, and no lock around them."""

    increment = ToyRacy.increment


def _start(method, *args):
    return lambda k, t, s: getattr(k, method)(t, *args)


class ToyBase(Scenario):
    paths = ("toy_counter",)

    def initial_state(self, k, params):
        return State(extra={"counter": 0, "done": 0})


@scenario
class LostUpdate(ToyBase):
    name = "toy-lost-update"
    doc = "two or three CPUs increment a counter"
    actors = (Actor("inc", "incrementer", _start("increment"), min=1, max=3),)

    def on_finish(self, run, task):
        s = run.state.extra
        if s["counter"] != s["done"]:
            raise InvariantBroken("no-lost-update", f"counter {s['counter']} after {s['done']} increments")


@scenario
class PerCpu(ToyBase):
    name = "toy-per-cpu"
    doc = "CPUs increment counters of their own"
    actors = (Actor("own", "per-CPU incrementer", _start("own_counter"), min=1, max=4),)

    def initial_state(self, k, params):
        return State(extra={f"cpu{i}": 0 for i in range(4)})

    def on_finish(self, run, task):
        if run.state.extra[task.seen["counter"]] != 1:
            raise InvariantBroken("no-lost-update", f"{task.title}'s counter is not 1")


@scenario
class RacingAndOwn(ToyBase):
    name = "toy-racing-and-own"
    doc = "CPUs increment one counter while another increments a counter of its own"
    actors = (Actor("inc", "incrementer", _start("increment"), min=1, max=2),
              Actor("own", "per-CPU incrementer", _start("own_counter"), min=0, max=1))

    def initial_state(self, k, params):
        return State(extra={"counter": 0, "done": 0} | {f"cpu{i}": 0 for i in range(3)})

    def on_finish(self, run, task):
        if task.kind == "inc":  # the one counter: what the CPU of its own never reads
            LostUpdate.on_finish(self, run, task)


@scenario
class AbBa(ToyBase):
    name = "toy-abba"
    doc = "lock A then B against B then A"
    actors = (Actor("ab", "A then B", _start("lock_ab", "A", "B")),
              Actor("ba", "B then A", _start("lock_ab", "B", "A")))


@scenario
class CrashHolding(ToyBase):
    name = "toy-crash"
    doc = "a CPU oopses holding A"
    actors = (Actor("crash", "crasher", _start("crash_holding"), min=1),
              Actor("waiter", "A then B", _start("lock_ab", "A", "B"), min=1))


@scenario
class Spin(ToyBase):
    name = "toy-spin"
    doc = "a CPU spins forever"
    actors = (Actor("spin", "spinner", _start("spin_forever"), min=1),)

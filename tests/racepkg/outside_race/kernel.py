"""The package's own code path, its version of an existing path, its named kernels."""

from mmfuzz.api import KernelCode, code_path, down_read, get_path, inline, release, spin_lock, spin_unlock, up_read

release("v4.8", "Jul 2016, as the example race package models it")
release("v4.9", "Dec 2016: the example counter is taken under its lock")

stat_counter = code_path("example_stat_counter", file="mm/example.c",
                         doc="an example package's own path: a per-mm statistics counter")


@stat_counter.version("v4.8", since="v4.8", models="the counter bumped as a load and a store",
                      racy="two CPUs lose an update")
class StatCounterV48(KernelCode):
    """mm_stat_inc(): read, then write back the counter; no lock."""

    def mm_stat_inc(self, t):
        mm = self.s.mm
        yield from down_read(t, mm.mmap_lock)  # the scenario names it as v4.x does: mmap_sem
        yield from self._mm_stat_update(t)
        self.s.extra["done"] += 1
        up_read(t, mm.mmap_lock)

    @inline
    def _mm_stat_update(self, t):
        yield "v = mm->stat"
        v = self.s.extra["counter"]
        yield "mm->stat = v + 1"
        self.s.extra["counter"] = v + 1


@stat_counter.version("v4.9", since="v4.9", models="the counter bumped under mm->stat_lock")
class StatCounterV49(StatCounterV48):
    """mm_stat_inc() under mm->stat_lock."""

    def _mm_stat_update(self, t):  # still inline: the steps stay mm_stat_inc's
        yield from spin_lock(t, "stat_lock")
        yield "v = mm->stat"
        v = self.s.extra["counter"]
        yield "mm->stat = v + 1"
        self.s.extra["counter"] = v + 1
        spin_unlock(t, "stat_lock")


# A version of a path mmfuzz already has: from v4.8 on, kernels that had no
# handle_mm_fault now select this one. Its alloc_set_pte() is also a function of the
# built-in do_read_fault path: no built-in scenario may break over it.
@get_path("handle_mm_fault").version("example-v4.8", since="v4.8",
                                  models="v4.8 handle_mm_fault() as the example package reduces it")
class HandleMmFaultV48(KernelCode):
    """handle_mm_fault() -> alloc_set_pte(): counts the fault."""

    def handle_mm_fault(self, t, vma=None, address=0, flags=frozenset()):
        return (yield from self.alloc_set_pte(t, None, None))

    def alloc_set_pte(self, t, vmf, page):
        yield "alloc_set_pte: pte_alloc_one_map()"
        return 0

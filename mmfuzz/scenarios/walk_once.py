"""2026, after the fix: does a page walk still report each address of its range once?

An anonymous VMA [0x10, 0x18) is mapped by two THPs, one PMD each, in one PMD table.
Actors: a /proc/PID/pagemap read from 0x15 for 7 entries (into the unmapped PMD after
the VMA), a /proc/PID/numa_maps read of the VMA, and madvise(MADV_DONTNEED) of the
second THP (mmap_lock held for read, like the readers).

The fixed walk_pmd_range() (3b89863c3fa4) leaves a .pmd_entry's ACTION_AGAIN in place
when the retried PMD is now none (`pmd_none -> pte_hole, continue`); the fixed
walk_pud_range() then sees ACTION_AGAIN after walk_pmd_range() and `goto again`s: the
whole PUD part of the range is walked twice.
"""

from __future__ import annotations

from mmfuzz.engine.scenario import Actor, Scenario, scenario
from mmfuzz.engine.violations import InvariantBroken
from mmfuzz.kernel.fs.proc.task_mmu import PM_NOT_PRESENT
from mmfuzz.model.memory import Folio
from mmfuzz.model.mm import Vma, get, new_mm, put, slot
from mmfuzz.model.pgtable import HPAGE_PMD_NR, HPAGE_PUD_NR, PMD_ORDER, mk_leaf
from mmfuzz.model.state import State

# import for registration of the code paths this scenario runs
import mmfuzz.kernel.fs.proc.task_mmu  # noqa: F401,E402
import mmfuzz.kernel.mm.madvise  # noqa: F401,E402

THP_VMA = "thp"
VMA_START = HPAGE_PUD_NR
PAGEMAP_START = VMA_START + HPAGE_PMD_NR + 1  # mid-PMD: a walk shorter than a PMD
PAGEMAP_COUNT = 2 * HPAGE_PMD_NR - 1


def pagemap_reader(k, t, s):
    def read():
        t.seen["out"] = yield from k.pagemap_read(t, s.mm, PAGEMAP_START, PAGEMAP_COUNT)
    return read()


def numa_maps_reader(k, t, s):
    return k.show_numa_map(t, s.mm.find_vma(THP_VMA), t.seen.setdefault("counted", []))


def dontneed_second_thp(k, t, s):
    return k.madvise_dontneed(t, s.mm, VMA_START + HPAGE_PMD_NR, HPAGE_PMD_NR)


@scenario
class WalkOnceScenario(Scenario):
    name = "walk-once"
    doc = "pagemap/numa_maps walks vs MADV_DONTNEED of a THP: each address reported once? (2026, after the fix)"
    paths = ("walk_page_range", "split_huge_pud", "split_huge_pmd", "huge_zero_pmd", "show_numa_map",
             "pagemap_read", "madvise_dontneed", "zap_page_range", "pte_offset_map_lock")
    actors = (
        Actor("pagemap", "pagemap reader", pagemap_reader, min=0, max=1),
        Actor("numa_maps", "numa_maps reader", numa_maps_reader, min=0, max=1),
        Actor("dontneed", "madvise(MADV_DONTNEED)", dontneed_second_thp, min=0, max=1),
    )
    racy_on = ({"kernel": "v7.0"}, {"kernel": "v6.12", "overrides": {"walk_page_range": "3b89863c3fa4"}})
    # v6.12 and v7.0-rc2 walk nothing twice (tests/test_race_2026_after_the_fix.py); they
    # are not declared clean rows: no protection of theirs can be elided, the race is
    # the fix's own `goto again`
    clean_on = ()
    explore_with = ({"pagemap": 1, "dontneed": 1}, {"numa_maps": 1, "dontneed": 1})

    def initial_state(self, k, params):
        s = State()
        mem = s.mem
        mm = new_mm(mem)
        s.mms.append(mm)
        vma = Vma(THP_VMA, VMA_START, VMA_START + 2 * HPAGE_PMD_NR, flags=frozenset({"anon", "VM_READ", "VM_WRITE"}))
        mm.vmas.append(vma)
        s.extra["zero_pfn"] = mem.alloc(Folio(kind="zero", refcount=1 << 20))
        for addr in range(vma.start, vma.end, HPAGE_PMD_NR):  # two THPs: two live PMDs
            pfn = mem.alloc(Folio(kind="anon", order=PMD_ORDER, refcount=1, mapcount=1), HPAGE_PMD_NR)
            put(mem, slot(mem, mm, addr, "pmd", create=True), mk_leaf(pfn, write=True, dirty=True))
        return s

    def on_finish(self, run, task):
        if task.kind == "pagemap":
            out = task.seen["out"]
            want = list(range(PAGEMAP_START, PAGEMAP_START + PAGEMAP_COUNT))
            got = [addr for addr, _ in out]
            if got != want:
                i = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b) if len(got) == len(want) else 0
                raise InvariantBroken(
                    "walk-reports-each-address-once",
                    f"{task.title}: entry {i} of the read (for address {want[i]:#x}) is the walk's entry "
                    f"for {got[i]:#x} ({out[i][1]}): the walk reported [{got[i]:#x}, ...) twice and "
                    f"every later entry is shifted; entries for {', '.join(f'{a:#x}' for a in got)}")
        elif task.kind == "numa_maps":
            counted = task.seen["counted"]
            twice = sorted({a for a in counted if counted.count(a) > 1})
            if twice:
                raise InvariantBroken(
                    "walk-reports-each-address-once",
                    f"{task.title} counted pages {twice[0]:#x}..{twice[-1]:#x} twice "
                    f"({len(counted)} pages counted, the VMA has {2 * HPAGE_PMD_NR}): numa_maps "
                    f"prints anon={len(counted)}")

    def describe(self, run):
        s = run.state
        vma = s.mm.find_vma(THP_VMA)
        pmds = [str(get(s.mem, slot(s.mem, s.mm, a, "pmd"))) for a in range(vma.start, vma.end, HPAGE_PMD_NR)]
        return f"THP VMA [{vma.start:#x}, {vma.end:#x}): PMDs {', '.join(pmds)}"


__all__ = ["WalkOnceScenario", "PM_NOT_PRESENT"]

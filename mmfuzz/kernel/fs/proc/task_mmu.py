"""fs/proc/task_mmu.c: /proc/PID/numa_maps, the walker of the 2026 report."""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, spin_unlock, up_read
from mmfuzz.kernel.mm.pagewalk import ACTION_AGAIN, MmWalkOps

show_numa_map = code_path(
    "show_numa_map", file="fs/proc/task_mmu.c",
    doc="show_numa_map(): walk_page_vma() with .pmd_entry = gather_pte_stats, no .pte_entry")


def _gather_pte_stats(kernel, t, pmd, addr, end, walk):
    return kernel.gather_pte_stats(t, pmd, addr, end, walk)


NUMA_MAPS_OPS = MmWalkOps("show_numa_ops", pmd_entry=_gather_pte_stats)


@show_numa_map.version("v6.12", since="v6.2",
                       models="v6.2+ (walk_page_vma() no longer calls ->test_walk, so VM_PFNMAP VMAs are walked)")
class ShowNumaMapV612(KernelCode):
    """m_start() takes mmap_lock for read; show_numa_map() walks the VMA."""

    def show_numa_map(self, t, vma):
        mm = self.s.mms[vma.mm]
        yield from down_read(t, mm.mmap_lock)  # m_start(): mmap_read_lock()
        yield from self.walk_page_vma(t, vma, NUMA_MAPS_OPS)
        up_read(t, mm.mmap_lock)  # m_stop()

    def gather_pte_stats(self, t, pmd, addr, end, walk):
        ptl = yield from self.pmd_trans_huge_lock(t, pmd, walk.vma)
        if ptl:
            # can_gather_numa_stats_pmd(): a special PMD has no normal page to count
            spin_unlock(t, ptl)
            return 0
        got = yield from self.pte_offset_map_lock(t, walk.mm, pmd, addr)
        if got is None:
            walk.action = ACTION_AGAIN
            return 0
        pte, ptl = got
        self.pte_unmap_unlock(t, pte, ptl)  # the PTE loop reads under the PTL: one step
        return 0

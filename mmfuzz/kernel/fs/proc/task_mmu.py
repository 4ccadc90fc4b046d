"""fs/proc/task_mmu.c: /proc/PID/numa_maps and /proc/PID/pagemap, two page walkers.

Both read page tables under mmap_lock (read) with a .pmd_entry that handles huge PMDs
under the PMD lock and falls back to pte_offset_map_lock(), setting ACTION_AGAIN when
that finds no PTE table (Hugh Dickins' v6.5 series).
"""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, spin_unlock, up_read
from mmfuzz.kernel.mm.pagewalk import ACTION_AGAIN, MmWalkOps
from mmfuzz.model.memory import Folio
from mmfuzz.model.pgtable import HPAGE_PMD_NR, Ptr, pmd_present

show_numa_map = code_path(
    "show_numa_map", file="fs/proc/task_mmu.c",
    doc="show_numa_map(): walk_page_vma() with .pmd_entry = gather_pte_stats, no .pte_entry")
pagemap_read = code_path(
    "pagemap_read", file="fs/proc/task_mmu.c",
    doc="pagemap_read(): walk_page_range() one PMD at a time with .pmd_entry = pagemap_pmd_range, "
        ".pte_hole = pagemap_pte_hole")

PM_END_OF_BUFFER = 1
PM_NOT_PRESENT = "not present"


def _gather_pte_stats(kernel, t, pmd, addr, end, walk):
    return kernel.gather_pte_stats(t, pmd, addr, end, walk)


NUMA_MAPS_OPS = MmWalkOps("show_numa_ops", pmd_entry=_gather_pte_stats)


@show_numa_map.version("v6.12", since="v6.5", commit="0d940a9b270b",
                       models="v6.5+ gather_pte_stats() (ACTION_AGAIN when pte_offset_map_lock() fails); "
                              "since v6.2 walk_page_vma() no longer calls ->test_walk, so VM_PFNMAP VMAs are walked")
class ShowNumaMapV612(KernelCode):
    """m_start() takes mmap_lock for read; show_numa_map() walks the VMA and counts pages."""

    def show_numa_map(self, t, vma, md: list | None = None):
        """md (struct numa_maps): the address of every page counted, in order."""
        mm = self.s.mms[vma.mm]
        yield from down_read(t, mm.mmap_lock)  # m_start(): mmap_read_lock()
        yield from self.walk_page_vma(t, vma, NUMA_MAPS_OPS, md if md is not None else [])
        up_read(t, mm.mmap_lock)  # m_stop()

    def gather_pte_stats(self, t, pmd, addr, end, walk):
        md = walk.private
        ptl = yield from self.pmd_trans_huge_lock(t, pmd, walk.vma)
        if ptl:
            if self.can_gather_numa_stats_pmd(t, self.deref(t, pmd)):
                md.extend(range(addr, addr + HPAGE_PMD_NR))  # gather_stats(..., HPAGE_PMD_NR)
            spin_unlock(t, ptl)
            return 0
        got = yield from self.pte_offset_map_lock(t, walk.mm, pmd, addr)
        if got is None:
            t.note("pte_offset_map_lock: NULL, walk->action = ACTION_AGAIN")
            walk.action = ACTION_AGAIN
            return 0
        pte, ptl = got
        yield "ptent = ptep_get(pte)"  # the loop reads each PTE under the PTL
        while True:
            ptent = self.deref(t, pte)
            if self.vm_normal_folio(ptent) is not None:  # can_gather_numa_stats()
                md.append(addr)
            addr += 1
            if addr == end:
                break
            pte = Ptr(pte.pfn, pte.idx + 1, pte.level)
        self.pte_unmap_unlock(t, pte, ptl)
        return 0

    def can_gather_numa_stats_pmd(self, t, pmdval) -> bool:
        # vm_normal_page_pmd(): no page for special (pfnmap) or huge zero PMDs
        return pmd_present(pmdval) and not pmdval.special and self.vm_normal_folio(pmdval) is not None

    def vm_normal_folio(self, e):
        """vm_normal_page(): the folio a present, non-special entry maps (not the zero page)."""
        if e.kind != "leaf" or e.special:
            return None
        frame = self.s.mem.frames.get(e.pfn)
        return frame if isinstance(frame, Folio) and frame.kind != "zero" else None


def _pagemap_pmd_range(kernel, t, pmd, addr, end, walk):
    return kernel.pagemap_pmd_range(t, pmd, addr, end, walk)


def _pagemap_pte_hole(kernel, t, ptr, addr, end, walk):
    return kernel.pagemap_pte_hole(t, addr, end, walk)
    yield  # pragma: no cover


PAGEMAP_OPS = MmWalkOps("pagemap_ops", pmd_entry=_pagemap_pmd_range, pte_hole=_pagemap_pte_hole)


class PagemapRead:
    """struct pagemapread: one walk's buffer of (address, entry); len entries at most."""

    def __init__(self, length: int):
        self.len = length
        self.buffer: list = []


@pagemap_read.version("v6.12", since="v6.5", commit="0d940a9b270b",
                      models="v6.5+ pagemap_read()/pagemap_pmd_range()/pagemap_pte_hole(): PAGEMAP_WALK_SIZE "
                             "(one PMD) per walk_page_range(), add_to_pagemap() ends the walk when the buffer is full")
class PagemapReadV612(KernelCode):
    """Each entry the walk adds says which address it was made for, so a test can check the output."""

    def pagemap_read(self, t, mm, svpfn: int, count: int):
        """read(fd, buf, count * 8) at offset svpfn * 8: the entries copied to the user."""
        out: list = []
        start_vaddr, end_vaddr = svpfn, svpfn + count
        pm = PagemapRead(HPAGE_PMD_NR)  # pm.len = PAGEMAP_WALK_SIZE >> PAGE_SHIFT
        while count and start_vaddr < end_vaddr:
            pm.buffer = []  # pm.pos = 0
            end = min((start_vaddr + HPAGE_PMD_NR) & ~(HPAGE_PMD_NR - 1), end_vaddr)
            yield from down_read(t, mm.mmap_lock)  # mmap_read_lock_killable()
            yield from self.walk_page_range(t, mm, start_vaddr, end, PAGEMAP_OPS, pm)
            up_read(t, mm.mmap_lock)
            start_vaddr = end
            n = min(count, len(pm.buffer))  # copy_to_user(buf, pm.buffer, len)
            out.extend(pm.buffer[:n])
            count -= n
        return out

    def add_to_pagemap(self, t, addr: int, pme, pm: PagemapRead) -> int:
        pm.buffer.append((addr, pme))
        return PM_END_OF_BUFFER if len(pm.buffer) >= pm.len else 0

    def pagemap_pte_hole(self, t, addr: int, end: int, walk) -> int:
        err = 0
        while addr < end and not err:
            err = self.add_to_pagemap(t, addr, PM_NOT_PRESENT, walk.private)
            addr += 1
        return err

    def pagemap_pmd_range(self, t, pmd, addr, end, walk):
        pm = walk.private
        ptl = yield from self.pmd_trans_huge_lock(t, pmd, walk.vma)
        err = 0
        if ptl:
            e = self.deref(t, pmd)
            for i in range(end - addr):  # frame = pmd_pfn(pmd) + idx
                err = self.add_to_pagemap(t, addr + i, f"pfn {e.pfn + (addr + i) % HPAGE_PMD_NR:#x}", pm)
                if err:
                    break
            spin_unlock(t, ptl)
            return err
        got = yield from self.pte_offset_map_lock(t, walk.mm, pmd, addr)
        if got is None:
            t.note("pte_offset_map_lock: NULL, walk->action = ACTION_AGAIN")
            walk.action = ACTION_AGAIN
            return err
        pte, ptl = got
        yield "pte_to_pagemap_entry(pm, vma, addr, ptep_get(pte))"
        while addr < end and not err:
            ptent = self.deref(t, pte)
            err = self.add_to_pagemap(t, addr, f"pfn {ptent.pfn:#x}" if ptent.kind == "leaf" else PM_NOT_PRESENT, pm)
            addr += 1
            pte = Ptr(pte.pfn, pte.idx + 1, pte.level)
        self.pte_unmap_unlock(t, pte, ptl)
        return err

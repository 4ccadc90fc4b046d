"""mm/memory.c: the fault path down to the PUD/PMD huge-fault hooks, zapping, unmap_mapping_range.

Addresses and file offsets are in pages (see mmfuzz.model.pgtable).
"""

from __future__ import annotations

import attrs

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, spin_lock, spin_unlock, up_read
from mmfuzz.kernel.mm.huge_memory import HPAGE_PMD_NR, VM_FAULT_FALLBACK
from mmfuzz.model.memory import Folio
from mmfuzz.model.pgtable import (
    HPAGE_PUD_NR, NONE, PMD_ORDER, PUD_ORDER, PageTable, Ptr, addr_end, index, is_swap_pmd,
    mk_table, pmd_devmap, pmd_none, pmd_trans_huge, pud_devmap, pud_none, pud_present,
    pud_trans_huge,
)

handle_mm_fault = code_path(
    "handle_mm_fault", file="mm/memory.c",
    doc="handle_mm_fault() -> __handle_mm_fault(): PUD and PMD huge faults, pmd_alloc() fallback")
zap_page_range = code_path(
    "zap_page_range", file="mm/memory.c",
    doc="zap_page_range_single() -> zap_{pud,pmd,pte}_range(): clear entries under the page-table locks")
unmap_mapping_range = code_path(
    "unmap_mapping_range", file="mm/memory.c",
    doc="unmap_mapping_range() / unmap_mapping_pages(): zap every VMA mapping a file range")


@attrs.define
class Vmf:
    vma: object
    address: int
    pgoff: int
    flags: frozenset = frozenset()
    pud: Ptr | None = None
    pmd: Ptr | None = None


@attrs.define
class ZapDetails:
    even_cows: bool = True


@handle_mm_fault.version("v6.12", since="v6.12",
                         models="v6.12 mm/memory.c __handle_mm_fault() with huge_fault(PUD_ORDER) for pfnmaps (Peter Xu's huge pfnmap series)")
class HandleMmFaultV612(KernelCode):
    """__handle_mm_fault(): try a PUD leaf on a none PUD, else allocate a PMD table and try a PMD leaf."""

    def handle_mm_fault(self, t, vma, address: int, flags=frozenset()):
        vmf = Vmf(vma, address, vma.pgoff + (address - vma.start), frozenset(flags))
        return (yield from self._handle_mm_fault(t, vmf))

    def _handle_mm_fault(self, t, vmf: Vmf):
        mm = self.s.mms[vmf.vma.mm]
        vmf.pud = self.upper_offset(t, mm, vmf.address, "pud")  # pgd_offset, p4d_alloc, pud_alloc
        while True:  # retry_pud:
            yield "pud_none(*vmf->pud)"
            orig = self.load(t, vmf.pud)
            if pud_none(orig):
                ret = yield from self.create_huge_pud(t, vmf)
                if ret != VM_FAULT_FALLBACK:
                    return ret
            elif pud_trans_huge(orig) or pud_devmap(orig):
                return 0  # huge_pud_set_accessed(): somebody mapped it already
            vmf.pmd = yield from self.pmd_alloc(t, mm, vmf.pud, vmf.address)
            yield "pud_trans_unstable(vmf->pud)"  # huge PUD fault raced with pmd_alloc?
            e = self.load(t, vmf.pud)
            if pud_none(e) or pud_trans_huge(e) or pud_devmap(e):
                continue
            yield "pmd_none(*vmf->pmd)"
            orig_pmd = self.load(t, vmf.pmd)
            if pmd_none(orig_pmd):
                ret = yield from self.create_huge_pmd(t, vmf)
                if ret != VM_FAULT_FALLBACK:
                    return ret
            elif pmd_trans_huge(orig_pmd) or pmd_devmap(orig_pmd) or is_swap_pmd(orig_pmd):
                return 0  # huge_pmd_set_accessed()
            return (yield from self.handle_pte_fault(t, vmf))

    def create_huge_pud(self, t, vmf: Vmf):
        return (yield from self.vm_ops(vmf.vma).huge_fault(self, t, vmf, PUD_ORDER))

    def create_huge_pmd(self, t, vmf: Vmf):
        return (yield from self.vm_ops(vmf.vma).huge_fault(self, t, vmf, PMD_ORDER))

    def handle_pte_fault(self, t, vmf: Vmf):
        raise NotImplementedError("PTE-level faults are not modelled on this path")
        yield  # pragma: no cover

    def pmd_alloc(self, t, mm, pud: Ptr, address: int):
        yield "pud_none(*pud)"
        if pud_none(self.load(t, pud)):
            yield from self._pmd_alloc(t, mm, pud, address)
        yield "pmd_offset(pud, address)"
        return self.offset(t, pud, address)

    def _pmd_alloc(self, t, mm, pud: Ptr, address: int):
        yield from spin_lock(t, mm.page_table_lock)  # pud_lock()
        if not pud_present(self.load(t, pud, "re-check *pud")):
            entry = mk_table(self.s.mem.alloc(PageTable("pmd")))
            self.set_entry(pud, entry)  # pud_populate()
            t.note(f"pud_populate: *pud = {entry}")
        spin_unlock(t, mm.page_table_lock)

    def vm_ops(self, vma):
        return VM_OPS[vma.ops]


# vma->vm_ops by VMA kind; drivers register theirs (see drivers/vfio/pci)
VM_OPS: dict = {}


@zap_page_range.version("generic", since="v2.6.12",
                        models="zap_pud_range/zap_pmd_range/zap_pte_range as in v6.12; the PTE level is the same in 2.6 and 5.x")
class ZapPageRange(KernelCode):
    """Clear page-table entries of a VMA range under the page-table locks, dropping rmap and refs."""

    def zap_page_range_single(self, t, vma, address: int, size: int, details: ZapDetails):
        mm = self.s.mms[vma.mm]
        end = address + size
        addr = address
        while addr < end:  # unmap_page_range(): pgd and p4d tables are stable here
            pud = self.upper_offset(t, mm, addr, "pud")
            nxt = addr_end("p4d", addr, end)
            yield from self.zap_pud_range(t, vma, pud, addr, nxt, details)
            addr = nxt

    def zap_pud_range(self, t, vma, pud: Ptr, addr: int, end: int, details):
        while addr != end:
            nxt = addr_end("pud", addr, end)
            yield "pud_trans_huge(*pud) || pud_devmap(*pud)"
            e = self.load(t, pud)
            zapped = False
            if pud_trans_huge(e) or pud_devmap(e):
                if nxt - addr != HPAGE_PUD_NR:
                    yield from self.split_huge_pud(t, vma, pud, addr)
                else:
                    zapped = (yield from self.zap_huge_pud(t, vma, pud, addr)) == 1
            if not zapped:
                yield "pud_none_or_clear_bad(pud)"
                e = self.load(t, pud)
                if e.kind == "table":
                    yield from self.zap_pmd_range(t, vma, pud, addr, nxt, details)
                elif e.kind != "none":
                    self.set_entry(pud, NONE)  # pud_clear_bad(): "bad pud" in the log
                    t.note("pud_clear_bad")
            addr = nxt
            pud = Ptr(pud.pfn, pud.idx + 1, "pud")

    def zap_pmd_range(self, t, vma, pud: Ptr, addr: int, end: int, details):
        yield "pmd = pmd_offset(pud, addr)"
        pmd = self.offset(t, pud, addr)
        while addr != end:
            nxt = addr_end("pmd", addr, end)
            yield "is_swap_pmd(*pmd) || pmd_trans_huge(*pmd) || pmd_devmap(*pmd)"
            e = self.load(t, pmd)
            if is_swap_pmd(e) or pmd_trans_huge(e) or pmd_devmap(e):
                if nxt - addr != HPAGE_PMD_NR:
                    yield from self._split_huge_pmd(t, vma, pmd, addr)
                elif (yield from self.zap_huge_pmd(t, vma, pmd, addr)) == 1:
                    addr, pmd = nxt, Ptr(pmd.pfn, pmd.idx + 1, "pmd")
                    continue
            yield "pmd_none(*pmd)"
            if pmd_none(self.load(t, pmd)):
                addr, pmd = nxt, Ptr(pmd.pfn, pmd.idx + 1, "pmd")
                continue
            done = yield from self.zap_pte_range(t, vma, pmd, addr, nxt, details)
            if done == nxt:  # else the PTE table went away: redo this pmd
                addr, pmd = nxt, Ptr(pmd.pfn, pmd.idx + 1, "pmd")

    def zap_pte_range(self, t, vma, pmd: Ptr, addr: int, end: int, details):
        mm = self.s.mms[vma.mm]
        got = yield from self.pte_offset_map_lock(t, mm, pmd, addr)
        if got is None:
            return addr
        pte, ptl = got
        while addr != end:
            e = self.deref(t, pte)
            if e.kind != "none":
                frame = self.s.mem.frames.get(e.pfn)
                folio = frame if isinstance(frame, Folio) and frame.kind != "zero" else None
                if folio is not None and folio.kind == "anon" and not details.even_cows:
                    pass  # should_zap_folio(): keep private COW copies
                else:
                    self.set_entry(pte, NONE)  # ptep_get_and_clear_full()
                    t.note(f"zap pte of page {addr:#x} (pfn {e.pfn:#x})")
                    if folio is not None:
                        folio.mapcount -= 1  # folio_remove_rmap_pte()
                        self.folio_put(e.pfn)  # tlb_remove_page(): the mapping's reference
            addr += 1
            pte = Ptr(pte.pfn, index("pte", addr), "pte")
        self.pte_unmap_unlock(t, pte, ptl)
        return addr


@unmap_mapping_range.version("v6.12", since="v5.8",
                             models="v5.8..v7.x: unmap_mapping_pages() under i_mmap_rwsem (read)")
class UnmapMappingRangeV612(KernelCode):
    """unmap_mapping_range(): for each VMA of the file overlapping the range, zap_page_range_single()."""

    def unmap_mapping_range(self, t, mapping: str, holebegin: int, holelen: int, even_cows: bool):
        nr = holelen if holelen else (1 << 40)  # holelen == 0 means "to the end of the file"
        yield from self.unmap_mapping_pages(t, mapping, holebegin, nr, even_cows)

    def unmap_mapping_pages(self, t, mapping: str, start: int, nr: int, even_cows: bool):
        details = ZapDetails(even_cows=even_cows)
        space = self.s.files[mapping]
        yield from down_read(t, space.i_mmap_lock)  # i_mmap_lock_read()
        for mmi, vname in list(space.i_mmap):
            vma = self.s.mms[mmi].find_vma(vname)
            vstart = max(start, vma.pgoff)
            vend = min(start + nr, vma.pgoff + (vma.end - vma.start))
            if vstart >= vend:
                continue
            addr = vma.start + (vstart - vma.pgoff)
            yield from self.zap_page_range_single(t, vma, addr, vend - vstart, details)
        up_read(t, space.i_mmap_lock)

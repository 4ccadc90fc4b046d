"""mm/huge_memory.c: PUD/PMD leaves: insert, split, zap, and the huge zero folio.

A critical section that makes exactly one store visible (a leaf set, or cleared) runs
as one atomic step after taking the lock: a lockless reader cannot tell the difference.
Splitting the huge zero PMD makes two (none, then the PTE table): two steps.
"""

from __future__ import annotations

from mmfuzz.engine.violations import Bug
from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import spin_lock, spin_unlock
from mmfuzz.kernel.mm.pgtable_generic import ptl_of_table
from mmfuzz.model.pgtable import (
    HPAGE_PMD_NR, NONE, PageTable, Ptr, index, is_swap_pmd, mk_leaf, mk_table,
    pmd_devmap, pmd_none, pmd_trans_huge, pud_devmap, pud_none, pud_trans_huge,
)

VM_FAULT_FALLBACK = "VM_FAULT_FALLBACK"
VM_FAULT_NOPAGE = "VM_FAULT_NOPAGE"
VM_FAULT_SIGBUS = "VM_FAULT_SIGBUS"

huge_pud = code_path(
    "split_huge_pud", file="mm/huge_memory.c",
    doc="split_huge_pud() / __split_huge_pud(): a PUD 'split' is a zap; insert_pfn_pud(); zap_huge_pud()")
huge_pmd = code_path(
    "split_huge_pmd", file="mm/huge_memory.c",
    doc="split_huge_pmd() / __split_huge_pmd(): zap a special or file PMD, split the huge zero PMD into PTEs; insert_pfn_pmd(); zap_huge_pmd()")
huge_zero = code_path(
    "huge_zero_pmd", file="mm/huge_memory.c",
    doc="set_huge_zero_folio(): the PMD that maps the huge zero folio in an anonymous VMA")


def pmd_lock_name(pmd: Ptr) -> str:
    """pmd_lock(): the split PMD lock of the PMD table page holding pmd."""
    return ptl_of_table(pmd.pfn)


def vma_is_special_huge(kernel, vma) -> bool:
    """include/linux/mm.h: vma_is_dax(vma) || (vma->vm_file && (VM_PFNMAP | VM_MIXEDMAP)):
    a DAX or pfnmap leaf has no folio reference or rmap to drop when it is zapped."""
    return kernel.vma_is_dax(vma) or "VM_PFNMAP" in vma.flags or "VM_MIXEDMAP" in vma.flags


@huge_pud.version("v6.12", since="v4.11", commit="a00cc7d9dd93",
                  models="v4.11 (a00cc7d9dd93, PUD THP for DAX) to v6.16; VFIO PUD pfnmaps since v6.12 (f9e54c3a2f5b)")
class HugePudV612(KernelCode):
    """split_huge_pud() zaps the PUD leaf: the range refaults later; no PMD table is made."""

    def split_huge_pud(self, t, vma, pud: Ptr, address: int):
        yield "pud_trans_huge(*pud) || pud_devmap(*pud)"
        if self.pud_huge(self.load(t, pud)):
            yield from self._split_huge_pud(t, vma, pud, address)

    @staticmethod
    def pud_huge(e) -> bool:
        """What each PUD path here tests before v6.17: pud_trans_huge(pud) || pud_devmap(pud)
        (a devmap PUD, DAX, is not pud_trans_huge on x86)."""
        return pud_trans_huge(e) or pud_devmap(e)

    def _split_huge_pud(self, t, vma, pud: Ptr, address: int):
        mm = self.s.mms[vma.mm]
        # mmu_notifier_invalidate_range_start(): no secondary MMU is modelled
        yield from spin_lock(t, mm.page_table_lock)  # pud_lock()
        if self.pud_huge(self.load(t, pud, "re-check *pud")):
            self.set_entry(pud, NONE)  # __split_huge_pud_locked: pudp_huge_clear_flush()
            t.note("pudp_huge_clear_flush: *pud = none")
        spin_unlock(t, mm.page_table_lock)
        # mmu_notifier_invalidate_range_end()

    def insert_pfn_pud(self, t, vma, addr: int, pud: Ptr, pfn: int, devmap: bool, write: bool):
        mm = self.s.mms[vma.mm]
        yield from spin_lock(t, mm.page_table_lock)  # pud_lock()
        if pud_none(self.load(t, pud)):
            entry = mk_leaf(pfn, devmap=devmap, special=not devmap, write=write)
            self.set_entry(pud, entry)  # set_pud_at()
            t.note(f"set_pud_at: *pud = {entry}")
        spin_unlock(t, mm.page_table_lock)

    def zap_huge_pud(self, t, vma, pud: Ptr, addr: int):
        """Returns 1 if it zapped the leaf (under __pud_trans_huge_lock)."""
        mm = self.s.mms[vma.mm]
        yield from spin_lock(t, mm.page_table_lock)
        if not self.pud_huge(self.load(t, pud, "re-check *pud")):
            spin_unlock(t, mm.page_table_lock)
            return 0
        self.set_entry(pud, NONE)  # pudp_huge_get_and_clear_full()
        if not vma_is_special_huge(self, vma):
            raise Bug("BUG(): zap_huge_pud of an anonymous PUD")
        t.note("pudp_huge_get_and_clear_full: *pud = none")
        spin_unlock(t, mm.page_table_lock)
        return 1


@huge_pmd.version("v6.12", since="v4.14",
                  models="v6.12 mm/huge_memory.c __split_huge_pmd_locked() (to v6.16): zap for non-anonymous VMAs, zero-page PTEs for the huge zero folio")
class HugePmdV612(KernelCode):
    """split_huge_pmd(): special/file PMD leaves are zapped; the huge zero PMD becomes a PTE table."""

    def split_huge_pmd(self, t, vma, pmd: Ptr, address: int):
        yield "is_swap_pmd(*pmd) || pmd_trans_huge(*pmd) || pmd_devmap(*pmd)"
        e = self.load(t, pmd)
        if is_swap_pmd(e) or self.pmd_huge(e):
            yield from self._split_huge_pmd(t, vma, pmd, address)

    @staticmethod
    def pmd_huge(e) -> bool:
        """What each PMD path here tests before v6.17: pmd_trans_huge(pmd) || pmd_devmap(pmd)."""
        return pmd_trans_huge(e) or pmd_devmap(e)

    def _split_huge_pmd(self, t, vma, pmd: Ptr, address: int):
        # mmu_notifier_invalidate_range_start(): no secondary MMU is modelled
        ptl = pmd_lock_name(pmd)
        yield from spin_lock(t, ptl)
        e = self.load(t, pmd, "re-check *pmd")
        if self.pmd_huge(e) or is_swap_pmd(e):
            yield from self._split_huge_pmd_locked(t, vma, pmd, address, e)
        spin_unlock(t, ptl)
        # mmu_notifier_invalidate_range_end()

    def _split_huge_pmd_locked(self, t, vma, pmd: Ptr, haddr: int, old):
        if "anon" not in vma.flags:
            self.set_entry(pmd, NONE)  # pmdp_huge_clear_flush()
            t.note("pmdp_huge_clear_flush: *pmd = none")
            if vma_is_special_huge(self, vma):
                return
            folio = self.folio(old.pfn)  # file THP: drop its rmap and reference
            folio.mapcount -= 1
            self.folio_put(old.pfn)
            return
        if self.is_huge_zero_pmd(old):
            yield from self._split_huge_zero_page_pmd(t, vma, haddr, pmd)
            return
        raise NotImplementedError("splitting an anonymous THP is not modelled")
        yield  # pragma: no cover

    def _split_huge_zero_page_pmd(self, t, vma, haddr: int, pmd: Ptr):
        # "Leave pmd empty until pte is filled": lockless readers (pmd_none(*pmd),
        # pmdp_get_lockless) can see the none between the two stores
        self.set_entry(pmd, NONE)  # pmdp_huge_clear_flush()
        t.note("pmdp_huge_clear_flush: *pmd = none")
        yield "pmd_populate(mm, pmd, pgtable)"
        # the deposited page table becomes a PTE table of zero-page PTEs
        pte_table = PageTable("pte")
        zero_pfn = self.s.extra["zero_pfn"]
        for i in range(HPAGE_PMD_NR):
            pte_table.entries[index("pte", haddr + i)] = mk_leaf(zero_pfn, special=True)
        pfn = self.s.mem.alloc(pte_table)
        self.set_entry(pmd, mk_table(pfn))  # pmd_populate()
        t.note(f"__split_huge_zero_page_pmd: *pmd = {mk_table(pfn)} of zero-page PTEs")

    def insert_pfn_pmd(self, t, vma, addr: int, pmd: Ptr, pfn: int, devmap: bool, write: bool):
        ptl = pmd_lock_name(pmd)
        yield from spin_lock(t, ptl)
        if pmd_none(self.load(t, pmd)):
            entry = mk_leaf(pfn, devmap=devmap, special=not devmap, write=write)
            self.set_entry(pmd, entry)  # set_pmd_at()
            t.note(f"set_pmd_at: *pmd = {entry}")
        spin_unlock(t, ptl)

    def zap_huge_pmd(self, t, vma, pmd: Ptr, addr: int):
        ptl = pmd_lock_name(pmd)
        yield from spin_lock(t, ptl)  # __pmd_trans_huge_lock()
        e = self.load(t, pmd, "re-check *pmd")
        if not (self.pmd_huge(e) or is_swap_pmd(e)):
            spin_unlock(t, ptl)
            return 0
        self.set_entry(pmd, NONE)  # pmdp_huge_get_and_clear_full()
        t.note("pmdp_huge_get_and_clear_full: *pmd = none")
        if not vma_is_special_huge(self, vma) and not self.is_huge_zero_pmd(e):
            folio = self.folio(e.pfn)
            folio.mapcount -= 1
            self.folio_put(e.pfn)
        spin_unlock(t, ptl)
        return 1

    def pmd_trans_huge_lock(self, t, pmd: Ptr, vma):
        """The PMD lock if *pmd is a huge (or swap) PMD, re-checked under it; else None."""
        yield "pmd_trans_huge(*pmd)"
        e = self.load(t, pmd)
        if not (is_swap_pmd(e) or self.pmd_huge(e)):
            return None
        ptl = pmd_lock_name(pmd)
        yield from spin_lock(t, ptl)  # __pmd_trans_huge_lock()
        e = self.load(t, pmd, "re-check *pmd")
        if is_swap_pmd(e) or self.pmd_huge(e):
            return ptl
        spin_unlock(t, ptl)
        return None


@huge_pud.version("8a6a984c2e0e", since="v6.17", commit="8a6a984c2e0e",
                  models="v6.17 (8a6a984c2e0e 'mm: remove redundant pXd_devmap calls', 7b2ae3c47f65 "
                         "'mm/huge_memory: remove pXd_devmap usage from insert_pXd_pfn()', d438d2734170 "
                         "'mm: remove devmap related functions and page table bits')")
class HugePudNoDevmap(HugePudV612):
    """No pud_devmap(): split_huge_pud() and __pud_trans_huge_lock() test pud_trans_huge() alone."""

    def split_huge_pud(self, t, vma, pud: Ptr, address: int):
        yield "pud_trans_huge(*pud)"
        if self.pud_huge(self.load(t, pud)):
            yield from self._split_huge_pud(t, vma, pud, address)

    # insert_pfn_pud(): every caller passes devmap=False from v6.17 on (7b2ae3c47f65: a
    # pfn leaf is always pud_mkspecial())
    pud_huge = staticmethod(pud_trans_huge)


@huge_pmd.version("8a6a984c2e0e", since="v6.17", commit="8a6a984c2e0e",
                  models="v6.17 (8a6a984c2e0e 'mm: remove redundant pXd_devmap calls', d438d2734170)")
class HugePmdNoDevmap(HugePmdV612):
    """No pmd_devmap(): split_huge_pmd(), pmd_trans_huge_lock() and zap_huge_pmd() test pmd_trans_huge()."""

    def split_huge_pmd(self, t, vma, pmd: Ptr, address: int):
        yield "is_swap_pmd(*pmd) || pmd_trans_huge(*pmd)"
        e = self.load(t, pmd)
        if is_swap_pmd(e) or self.pmd_huge(e):
            yield from self._split_huge_pmd(t, vma, pmd, address)

    pmd_huge = staticmethod(pmd_trans_huge)


@huge_zero.version("v6.12", since="v2.6.38",
                   models="before v6.18: the huge zero PMD is a plain PSE leaf (not pmd_special)")
class HugeZeroPmdPlain(KernelCode):
    """mk_huge_pmd(huge zero folio): a read-only PSE leaf, not marked special."""

    def mk_huge_zero_pmd(self, zero_folio_pfn: int):
        return mk_leaf(zero_folio_pfn)

    def is_huge_zero_pmd(self, e) -> bool:
        return e.kind == "leaf" and e.pfn == self.s.extra.get("huge_zero_pfn")


@huge_zero.version("v6.18", since="v6.18",
                   models="David Hildenbrand, 'mm/huge_memory: mark PMD mappings of the huge zero folio special' (v6.18)")
class HugeZeroPmdSpecial(HugeZeroPmdPlain):
    """mk_huge_pmd(huge zero folio) with pmd_mkspecial(): pmd_special() is true for it."""

    def mk_huge_zero_pmd(self, zero_folio_pfn: int):
        return mk_leaf(zero_folio_pfn, special=True)

"""mm/pgtable-generic.c: mapping a PTE table from a PMD, with the check that it is one."""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import spin_lock, spin_unlock
from mmfuzz.model.pgtable import Ptr, index, pmd_devmap, pmd_none, pmd_present, pmd_trans_huge

pte_offset_map_lock = code_path(
    "pte_offset_map_lock", file="mm/pgtable-generic.c",
    doc="pte_offset_map_lock() -> __pte_offset_map(): validate the PMD, map the PTE table, lock it")


def ptl_of_table(pfn: int) -> str:
    """The split page-table lock of a PMD or PTE table page (ptlock_ptr)."""
    return f"ptl:{pfn:#x}"


@pte_offset_map_lock.version("v6.5", since="v6.5", commit="0d940a9b270b",
                             models="v6.5 and later: ___pte_offset_map() rejects none, non-present and huge PMDs")
class PteOffsetMapLockV65(KernelCode):
    """pte_offset_map_lock(): NULL unless the PMD is a PTE table; re-check pmd_same under the PTL."""

    def pte_offset_map_lock(self, t, mm, pmd: Ptr, addr: int):
        while True:
            yield "pmdval = pmdp_get_lockless(pmd)"
            pmdval = self.load(t, pmd, "pmdval")
            if self.pmd_not_a_pte_table(pmdval):
                return None
            ptl = ptl_of_table(pmdval.pfn)
            yield from spin_lock(t, ptl)
            if self.deref(t, pmd) == pmdval:  # pmd_same(pmdval, pmdp_get_lockless(pmd))
                return Ptr(pmdval.pfn, index("pte", addr), "pte"), ptl
            spin_unlock(t, ptl)

    def pte_unmap_unlock(self, t, pte: Ptr, ptl: str) -> None:
        spin_unlock(t, ptl)

    def pmd_not_a_pte_table(self, pmdval) -> bool:
        # ___pte_offset_map(): none, !present, trans_huge (and devmap) mean "no table"
        return pmd_none(pmdval) or not pmd_present(pmdval) or pmd_trans_huge(pmdval) or pmd_devmap(pmdval)


@pte_offset_map_lock.version("no-pmd-leaf-check",
                             models="a mutant, not a kernel: v6.5's ___pte_offset_map() without "
                                    "`if (unlikely(pmd_trans_huge(pmdval))) goto nomap` (the re-check David "
                                    "Hildenbrand credits for the PMD level in seed 002)",
                             racy="a refaulted PMD leaf is mapped as a PTE table")
class PteOffsetMapLockNoLeafCheck(PteOffsetMapLockV65):
    """Mutant: none and non-present PMDs are still rejected, a huge PMD leaf is not."""

    def pmd_not_a_pte_table(self, pmdval) -> bool:
        return pmd_none(pmdval) or not pmd_present(pmdval)


@pte_offset_map_lock.version("v5.8", since="v5.8",
                             models="v2.6.x to v6.4: pte_offset_map() + spin_lock(pte_lockptr()); no PMD check (callers did pmd_trans_unstable() first)")
class PteOffsetMapLockV58(KernelCode):
    """pte_offset_map_lock(): map the PTE table the PMD points to and take its lock; never fails."""

    def pte_offset_map_lock(self, t, mm, pmd: Ptr, addr: int):
        yield "pte = pte_offset_map(pmd, address)"
        pmdval = self.load(t, pmd, "*pmd")
        ptl = ptl_of_table(pmdval.pfn)
        yield from spin_lock(t, ptl)
        return Ptr(pmdval.pfn, index("pte", addr), "pte"), ptl

    def pte_unmap_unlock(self, t, pte: Ptr, ptl: str) -> None:
        spin_unlock(t, ptl)


@pte_offset_map_lock.version("8a6a984c2e0e", since="v6.17", commit="8a6a984c2e0e",
                             models="v6.17: ___pte_offset_map() without the pmd_devmap() term "
                                    "(8a6a984c2e0e 'mm: remove redundant pXd_devmap calls')")
class PteOffsetMapLockNoDevmap(PteOffsetMapLockV65):
    """pte_offset_map_lock(): none, !present and pmd_trans_huge() PMDs mean "no table"."""

    def pmd_not_a_pte_table(self, pmdval) -> bool:
        return pmd_none(pmdval) or not pmd_present(pmdval) or pmd_trans_huge(pmdval)

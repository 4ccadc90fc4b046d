"""mm/pagewalk.c: walk_page_vma() and the walk_*_range() helpers.

Four versions of the PUD-level walk, from the 2026 thread "mm/pagewalk: don't split
device-backed huge pfnmaps":

- ``v6.12``: after split_huge_pud() only ``pud_none(*pud)`` is re-checked, and
  walk_pmd_range() takes the PMD table from a fresh load of *pud (racy);
- ``3b89863c3fa4``: the fix: walk_pmd_range() decides on one snapshot of *pud and
  retries unless it is a table (``9b25a6e3d243`` is the same patch committed again
  for v7.1-rc1: an alias);
- ``rfc-skip-special``: Max Boone's RFC: skip pud/pmd_special() entries;
- ``maxq-leaf-recheck``: Max's question: ``pud_none(*pud) || pud_leaf(*pud)`` in
  walk_pud_range().
"""

from __future__ import annotations

from typing import Any

import attrs

from mmfuzz.engine.task import inline
from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.model.mm import MM, Vma
from mmfuzz.model.pgtable import (
    Ptr, addr_end, pmd_leaf, pmd_none, pmd_present, pmd_special, pud_leaf, pud_none,
    pud_present, pud_special,
)

ACTION_SUBTREE = "ACTION_SUBTREE"
ACTION_CONTINUE = "ACTION_CONTINUE"
ACTION_AGAIN = "ACTION_AGAIN"

walk_page_range = code_path(
    "walk_page_range", file="mm/pagewalk.c",
    doc="walk_page_vma() -> walk_pgd/p4d/pud/pmd/pte_range(); the PUD split-vs-refault race of 2026")


@attrs.frozen
class MmWalkOps:
    """struct mm_walk_ops: callbacks are generators f(kernel, task, ptr, addr, next, walk)."""

    name: str
    pmd_entry: Any = None  # a generator function, or None
    pte_entry: Any = None
    pte_hole: Any = None  # (kernel, t, ptr or None, addr, next, walk)


@attrs.define
class MmWalk:
    mm: MM
    vma: Vma
    ops: MmWalkOps
    private: Any = None
    action: str = ACTION_SUBTREE


def _next(ptr: Ptr) -> Ptr:
    return Ptr(ptr.pfn, ptr.idx + 1, ptr.level)


@walk_page_range.version("v6.12", since="v4.11", commit="a00cc7d9dd93",
                         racy="a walker reads a refaulted PUD leaf as a PMD table (C.4)",
                         models="v4.11 (split_huge_pud() in walk_pud_range, a00cc7d9dd93) to v7.0-rc5; "
                                "racy with VFIO PUD pfnmaps since v6.12 (f9e54c3a2f5b)")
class WalkPageRangeV612(KernelCode):
    """After split_huge_pud(), only pud_none(*pud) is re-checked; pmd_offset() re-reads *pud."""

    def walk_page_vma(self, t, vma, ops: MmWalkOps, private=None):
        # walk_page_vma(): PGWALK_RDLOCK, the caller holds mmap_lock (read); since v6.2
        # it no longer calls ->test_walk, so VM_PFNMAP VMAs are walked too
        walk = MmWalk(self.s.mms[vma.mm], vma, ops, private)
        return (yield from self.walk_pgd_range(t, vma.start, vma.end, walk))

    def walk_page_range(self, t, mm, start: int, end: int, ops: MmWalkOps, private=None):
        """walk_page_range(): each VMA's part of [start, end), ->pte_hole for the gaps
        (depth -1). The caller holds mmap_lock (read); no VM_PFNMAP VMA is walked here."""
        addr, err = start, 0
        while addr < end and not err:
            vma: Any = next((v for v in mm.vmas if v.end > addr), None)  # find_vma()
            if vma is None or vma.start >= end:
                vma, nxt = None, end
            elif vma.start > addr:
                vma, nxt = None, vma.start
            else:
                nxt = min(end, vma.end)
            walk = MmWalk(mm, vma, ops, private)
            if vma is None:
                if ops.pte_hole:
                    err = yield from ops.pte_hole(self, t, None, addr, nxt, walk)
            else:
                err = yield from self.walk_pgd_range(t, addr, nxt, walk)
            addr = nxt
        return err

    def walk_pgd_range(self, t, addr: int, end: int, walk: MmWalk):
        # PGD and P4D entries never change while mmap_lock is held: their loads need
        # no preemption point of their own
        pgd = self.pgd_offset(walk.mm, addr)
        err = 0
        while True:
            nxt = addr_end("pgd", addr, end)
            if pud_none(self.deref(t, pgd)):  # pgd_none_or_clear_bad()
                if walk.ops.pte_hole:
                    err = yield from walk.ops.pte_hole(self, t, pgd, addr, nxt, walk)
            else:
                err = yield from self.walk_p4d_range(t, pgd, addr, nxt, walk)
            if err:
                return err
            pgd, addr = _next(pgd), nxt
            if addr == end:
                return err

    def walk_p4d_range(self, t, pgd: Ptr, addr: int, end: int, walk: MmWalk):
        p4d = self.offset(t, pgd, addr)
        err = 0
        while True:
            nxt = addr_end("p4d", addr, end)
            if pud_none(self.deref(t, p4d)):  # p4d_none_or_clear_bad()
                if walk.ops.pte_hole:
                    err = yield from walk.ops.pte_hole(self, t, p4d, addr, nxt, walk)
            else:
                err = yield from self.walk_pud_range(t, p4d, addr, nxt, walk)
            if err:
                return err
            p4d, addr = _next(p4d), nxt
            if addr == end:
                return err

    def walk_pud_range(self, t, p4d: Ptr, addr: int, end: int, walk: MmWalk):
        ops = walk.ops
        pud = self.offset(t, p4d, addr)  # pud_offset()
        err = 0
        while addr != end:
            nxt = addr_end("pud", addr, end)
            while True:  # again:
                yield "pud_none(*pud)"
                if pud_none(self.load(t, pud)):
                    if ops.pte_hole:
                        err = yield from ops.pte_hole(self, t, pud, addr, nxt, walk)
                    break
                walk.action = ACTION_SUBTREE
                # no ->pud_entry in the walkers modelled; with a vma, *pud is not re-read here
                if walk.action == ACTION_CONTINUE or not (ops.pmd_entry or ops.pte_entry):
                    break
                res = yield from self.walk_pud_descend(t, pud, addr, nxt, walk)
                if res is True:  # goto again
                    continue
                err = res or 0
                break
            if err:
                return err
            pud, addr = _next(pud), nxt
        return err

    @inline
    def walk_pud_descend(self, t, pud: Ptr, addr: int, nxt: int, walk: MmWalk):
        """split_huge_pud(), the re-check, walk_pmd_range(): True means `goto again`."""
        yield from self.split_huge_pud(t, walk.vma, pud, addr)
        yield "pud_none(*pud)"
        if pud_none(self.load(t, pud)):
            return True
        err = yield from self.walk_pmd_range(t, pud, addr, nxt, walk)
        return err or False

    def walk_pmd_range(self, t, pud: Ptr, addr: int, end: int, walk: MmWalk):
        yield "pmd = pmd_offset(pud, addr)"
        pmd = self.offset(t, pud, addr)
        t.note(f"pmd table taken from *pud = {self.deref(t, pud)}")
        return (yield from self.walk_pmd_entries(t, pmd, addr, end, walk))

    @inline
    def walk_pmd_entries(self, t, pmd: Ptr, addr: int, end: int, walk: MmWalk):
        """The body of walk_pmd_range() after pmd_offset(): the loop over PMD entries."""
        ops = walk.ops
        err = 0
        while addr != end:
            nxt = addr_end("pmd", addr, end)
            while True:  # again:
                yield "pmd_none(*pmd)"
                if pmd_none(self.load(t, pmd)):
                    if ops.pte_hole:
                        t.note(f"pte_hole [{addr:#x}, {nxt:#x})")
                        err = yield from ops.pte_hole(self, t, pmd, addr, nxt, walk)
                    if walk.action == ACTION_AGAIN:
                        t.note("continue: walk->action stays ACTION_AGAIN")
                    break
                walk.action = ACTION_SUBTREE
                if ops.pmd_entry:
                    err = yield from ops.pmd_entry(self, t, pmd, addr, nxt, walk)
                if err:
                    break
                if walk.action == ACTION_AGAIN:
                    continue
                if walk.action == ACTION_CONTINUE or not ops.pte_entry:
                    break
                skip = yield from self.walk_pmd_split(t, pmd, addr, walk)
                if skip:
                    break
                err = yield from self.walk_pte_range(t, pmd, addr, nxt, walk)
                if err:
                    break
                if walk.action == ACTION_AGAIN:
                    continue
                break
            if err:
                return err
            pmd, addr = _next(pmd), nxt
        return err

    @inline
    def walk_pmd_split(self, t, pmd: Ptr, addr: int, walk: MmWalk):
        """`if (walk->vma) split_huge_pmd(...)`; True means `continue` (skip this PMD)."""
        yield from self.split_huge_pmd(t, walk.vma, pmd, addr)
        return False

    def walk_pte_range(self, t, pmd: Ptr, addr: int, end: int, walk: MmWalk):
        got = yield from self.pte_offset_map_lock(t, walk.mm, pmd, addr)
        if got is None:
            walk.action = ACTION_AGAIN
            return 0
        pte, ptl = got
        err = 0
        while True:  # walk_pte_range_inner(), under the PTE lock
            err = yield from walk.ops.pte_entry(self, t, pte, addr, addr + 1, walk)
            if err or addr >= end - 1:
                break
            addr += 1
            pte = _next(pte)
        self.pte_unmap_unlock(t, pte, ptl)
        return err


@walk_page_range.version("3b89863c3fa4", since="v7.0", commit="3b89863c3fa4",
                         racy="re-walks the PUD range on a stale ACTION_AGAIN (pagemap shifts, numa_maps double counts)",
                         models="'mm/pagewalk: fix race between concurrent split and refault' "
                                "(Max Boone, David Hildenbrand): upstream 3b89863c3fa4 in v7.0-rc6 (6.18-stable "
                                "cites it); 138ada1337b4 in 6.12.84")
class WalkPageRangeFixed(WalkPageRangeV612):
    """walk_pmd_range() takes one snapshot of *pud and retries unless it is a table."""

    @inline
    def walk_pud_descend(self, t, pud, addr, nxt, walk):
        yield from self.split_huge_pud(t, walk.vma, pud, addr)
        err = yield from self.walk_pmd_range(t, pud, addr, nxt, walk)
        if err:
            return err
        if walk.action == ACTION_AGAIN:
            t.note(f"walk->action == ACTION_AGAIN: goto again, [{addr:#x}, {nxt:#x}) once more")
            return True
        return False

    def walk_pmd_range(self, t, pud, addr, end, walk):
        yield "pudval = pudp_get(pud)"
        pudval = self.load(t, pud, "pudval")
        if not pud_present(pudval) or pud_leaf(pudval):
            walk.action = ACTION_AGAIN
            return 0
        # a PUD that points to a PMD table cannot change under mmap_lock: the
        # re-read in pmd_offset() returns the same table
        yield "pmd = pmd_offset(pud, addr)"
        pmd = self.offset(t, pud, addr)
        return (yield from self.walk_pmd_entries(t, pmd, addr, end, walk))


class WalkPageRangeFixedAlias(WalkPageRangeFixed):
    """The same patch as 3b89863c3fa4, committed a second time (9b25a6e3d243, v7.1-rc1)."""


walk_page_range.version("9b25a6e3d243", commit="9b25a6e3d243",
                        models="alias of 3b89863c3fa4: torvalds/linux took the same patch again "
                               "through mm-stable in the v7.1 merge window")(WalkPageRangeFixedAlias)


@walk_page_range.version("rfc-skip-special", models="Max Boone's RFC 1/1 (2026-03-09): skip pud/pmd_special() entries instead of splitting them",
                         racy="a zapper between the none and special checks; skips the huge zero folio since v6.18")
class WalkPageRangeRfcSkipSpecial(WalkPageRangeV612):
    """`if (walk->vma) { if (pXd_special(*pXd)) continue; split_huge_pXd(...); }`"""

    @inline
    def walk_pud_descend(self, t, pud, addr, nxt, walk):
        yield "pud_special(*pud)"
        if pud_special(self.load(t, pud)):
            return False  # continue: don't descend into device-backed pfnmaps
        return (yield from super().walk_pud_descend(t, pud, addr, nxt, walk))

    @inline
    def walk_pmd_split(self, t, pmd, addr, walk):
        yield "pmd_special(*pmd)"
        if pmd_special(self.load(t, pmd)):
            return True
        yield from self.split_huge_pmd(t, walk.vma, pmd, addr)
        return False


@walk_page_range.version("maxq-leaf-recheck", models="Max Boone's question on the fix (2026-03-10): "
                         "`if (pud_none(*pud) || pud_leaf(*pud)) goto again;` in walk_pud_range()",
                         racy="the two checks and pmd_offset() are three loads: zap and refault between them")
class WalkPageRangeMaxQuestion(WalkPageRangeV612):
    """Re-check `pud_none(*pud) || pud_leaf(*pud)` after the split, as two separate loads."""

    @inline
    def walk_pud_descend(self, t, pud, addr, nxt, walk):
        yield from self.split_huge_pud(t, walk.vma, pud, addr)
        yield "pud_none(*pud)"
        if pud_none(self.load(t, pud)):
            return True
        yield "pud_leaf(*pud)"
        if pud_leaf(self.load(t, pud)):
            return True
        err = yield from self.walk_pmd_range(t, pud, addr, nxt, walk)
        return err or False


@walk_page_range.version("two-loads", mutant=True,
                         models="the fix's checks on two loads of *pud instead of one pudp_get() snapshot")
class WalkPageRangeFixedTwoLoads(WalkPageRangeFixed):
    """Mutant: `pud_present(*pud)`, then `pud_leaf(*pud)`, then pmd_offset(): three loads of *pud."""

    def walk_pmd_range(self, t, pud, addr, end, walk):
        yield "pud_present(*pud)"
        if not pud_present(self.load(t, pud)):
            walk.action = ACTION_AGAIN
            return 0
        yield "pud_leaf(*pud)"
        if pud_leaf(self.load(t, pud)):
            walk.action = ACTION_AGAIN
            return 0
        yield "pmd = pmd_offset(pud, addr)"
        pmd = self.offset(t, pud, addr)
        return (yield from self.walk_pmd_entries(t, pmd, addr, end, walk))


__all__ = ["MmWalkOps", "MmWalk", "ACTION_AGAIN", "ACTION_CONTINUE", "ACTION_SUBTREE",
           "pmd_leaf", "pmd_present"]

"""What every kernel version class shares: loads through page-table pointers, folio refs.

A version class's methods are kernel functions; ``self.s`` is the machine state and
``t`` the task (CPU) running the code. Loads here are not steps by themselves: the
caller yields the step label right before, so each load is its own atomic step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmfuzz.engine.violations import Bug, Oops
from mmfuzz.model.memory import Folio
from mmfuzz.model.pgtable import CHILD, NONE, PageTable, Ptr, index
from mmfuzz.model.state import State


class KernelCode:
    s: State  # the machine state, set when a run starts (Run.__init__)

    if TYPE_CHECKING:
        # A version class calls the functions of the other code paths, which the named
        # kernel composes into one class at run time (engine/versions.py): to a type
        # checker any such name exists.
        def __getattr__(self, name: str) -> Any: ...

    # -- page-table loads ---------------------------------------------------------------
    def deref(self, t, ptr: Ptr):
        """R(*ptr): one load of a page-table entry. Oops if ptr does not point into a table,
        unless it points into the direct map's persistent memory: see mis_walk()."""
        frame = self.s.mem.frames.get(ptr.pfn)
        if not isinstance(frame, PageTable) or frame.level != ptr.level:
            region = self.s.mem.region(ptr.pfn)
            if region is not None and region.direct_map:
                return self.mis_walk(t, ptr)
            raise Oops(f"unable to handle page fault: read *{ptr.level} at pfn {ptr.pfn:#x}, "
                       f"which is {self.s.mem.describe(ptr.pfn)}, not a {ptr.level.upper()} table")
        return frame.entries[ptr.idx]

    def mis_walk(self, t, ptr: Ptr):
        """A load from direct-mapped pmem as if it were a page table: no fault, so no
        oops; the walker reads pmem contents as entries (zeroed pmem reads as none).
        The run records it for the scenario's "walk-reads-page-tables" invariant."""
        what = (f"read *{ptr.level} at pfn {ptr.pfn:#x}, which is {self.s.mem.describe(ptr.pfn)}, "
                f"as a {ptr.level.upper()} table: a silent mis-walk, no fault")
        self.s.extra.setdefault("mis_walks", []).append(f"{t.title}: {what}")
        t.note(what)
        return NONE

    def load(self, t, ptr: Ptr, what: str | None = None):
        """deref() and say in the timeline what was read."""
        e = self.deref(t, ptr)
        t.note(f"{what or '*' + ptr.level} = {e}")
        return e

    def set_entry(self, ptr: Ptr, entry) -> None:
        self.s.mem.frames[ptr.pfn].entries[ptr.idx] = entry

    def offset(self, t, parent: Ptr, addr: int) -> Ptr:
        """pXd_offset(parent, addr): take the table address from the parent entry's value.

        This reads *parent: if the entry is not a table, the pointer it yields points at
        whatever the pfn is; the damage happens when the pointer is dereferenced.
        """
        e = self.deref(t, parent)
        return Ptr(e.pfn, index(CHILD[parent.level], addr), CHILD[parent.level])

    def pgd_offset(self, mm, addr: int) -> Ptr:
        return Ptr(mm.pgd, index("pgd", addr), "pgd")

    def upper_offset(self, t, mm, addr: int, level: str) -> Ptr:
        """Follow PGD and P4D, whose tables never change in these scenarios, to `level`."""
        ptr = self.pgd_offset(mm, addr)
        while ptr.level != level:
            ptr = self.offset(t, ptr, addr)
        return ptr

    # -- folios ---------------------------------------------------------------------
    def vma_is_dax(self, vma) -> bool:
        """include/linux/fs.h vma_is_dax(): vma->vm_file && IS_DAX(vma->vm_file->f_mapping->host)."""
        return vma.file is not None and vma.file in self.s.files and self.s.files[vma.file].dax

    def folio(self, pfn: int) -> Folio:
        f = self.s.mem.frames.get(pfn)
        if not isinstance(f, Folio):
            raise Oops(f"pfn {pfn:#x} is {self.s.mem.describe(pfn)}, not a folio")
        return f

    def folio_get(self, pfn: int) -> None:
        f = self.folio(pfn)
        if f.freed or f.refcount <= 0:
            raise Bug(f"VM_BUG_ON: get of a folio with refcount {f.refcount} (pfn {pfn:#x})")
        f.refcount += 1

    def folio_try_get(self, pfn: int) -> bool:
        """folio_try_get_rcu / page_cache_get_speculative: fails on a zero refcount."""
        f = self.folio(pfn)
        if f.refcount <= 0:
            return False
        f.refcount += 1
        return True

    def folio_put(self, pfn: int) -> None:
        f = self.folio(pfn)
        if f.refcount <= 0:
            raise Bug(f"VM_BUG_ON: put of a folio with refcount {f.refcount} (pfn {pfn:#x})")
        f.refcount -= 1
        if f.refcount == 0:
            f.freed = True

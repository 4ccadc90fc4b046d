"""An mm_struct and its VMAs, and non-atomic helpers for setup and invariants.

Kernel code never uses ``lookup``: it reads one entry per step. Scenarios use it to
build initial page tables and to inspect the final state.
"""

from __future__ import annotations

import attrs

from .memory import PhysMem
from .pgtable import CHILD, LEVELS, NONE, PageTable, Ptr, index, mk_table


@attrs.define
class Vma:
    name: str
    start: int  # first page
    end: int  # one past the last page
    flags: frozenset = frozenset()  # VM_PFNMAP, VM_SHARED, VM_WRITE, VM_CAN_INVALIDATE...
    pgoff: int = 0
    file: str | None = None  # the address_space it maps
    mm: int = 0  # which process (index into State.mms)
    # which vm_operations_struct: the key of its entry in kernel.mm.memory.VM_OPS, which
    # the fault paths call as VM_OPS[vma.ops].fault/map_pages/nopage/huge_fault(kernel, t, ...)
    ops: str = "anon"

    def contains(self, addr: int) -> bool:
        return self.start <= addr < self.end


@attrs.define
class MM:
    pgd: int
    vmas: list = attrs.Factory(list)
    # lock names: mmap_lock is an rwsem; pud_lock() is mm->page_table_lock
    mmap_lock: str = "mmap_lock"
    page_table_lock: str = "page_table_lock"

    def find_vma(self, name: str) -> Vma:
        for v in self.vmas:
            if v.name == name:
                return v
        raise KeyError(name)


# mm->mmap_lock's name since v5.8 (Michel Lespinasse's mmap locking API series renamed
# it); kernels before it call the same rwsem mmap_sem
MMAP_LOCK = "mmap_lock"


def new_mm(mem: PhysMem, prefix: str = "", *, mmap_lock: str = MMAP_LOCK) -> MM:
    """A process with an empty PGD table.

    `prefix` names the locks when a scenario has several processes ("mm1." ...).
    `mmap_lock` is the rwsem's name as the modelled kernel spells it, which the
    timeline prints (``down_read(mmap_lock)``): the v5.8+ default, or ``"mmap_sem"``
    for a scenario of 2.6..v5.7 kernels. It is part of every step label that takes the
    lock, so corpus entries record it: changing it for an existing scenario makes its
    saved races stale.
    """
    return MM(mem.alloc(PageTable("pgd")), mmap_lock=f"{prefix}{mmap_lock}",
              page_table_lock=f"{prefix}page_table_lock")


def slot(mem: PhysMem, mm: MM, addr: int, level: str, *, create: bool = False) -> Ptr | None:
    """Pointer to the entry mapping addr at `level`, following tables (setup/inspection only)."""
    pfn = mm.pgd
    for lvl in LEVELS:
        ptr = Ptr(pfn, index(lvl, addr), lvl)
        if lvl == level:
            return ptr
        table: PageTable = mem.frames[pfn]
        e = table.entries[ptr.idx]
        if e.kind != "table":
            if not create or e.kind != "none":
                return None
            e = mk_table(mem.alloc(PageTable(CHILD[lvl])))
            table.entries[ptr.idx] = e
        pfn = e.pfn
    return None


def get(mem: PhysMem, ptr: Ptr):
    return mem.frames[ptr.pfn].entries[ptr.idx]


def put(mem: PhysMem, ptr: Ptr, entry) -> None:
    mem.frames[ptr.pfn].entries[ptr.idx] = entry


def translate(mem: PhysMem, mm: MM, addr: int):
    """(level, entry) of the present leaf mapping addr, or None (inspection only)."""
    pfn = mm.pgd
    for lvl in LEVELS:
        e = mem.frames[pfn].entries[index(lvl, addr)]
        if e.kind == "leaf" or (lvl == "pte" and e.kind != "none"):
            return lvl, e
        if e.kind != "table":
            return None
        pfn = e.pfn
    return None


__all__ = ["MM", "MMAP_LOCK", "Vma", "new_mm", "slot", "get", "put", "translate", "NONE"]

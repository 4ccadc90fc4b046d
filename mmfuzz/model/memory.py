"""Physical memory: page frames that are folios, page tables, or device memory (BARs).

A pfn that is neither a folio nor a page table, inside a BAR, is MMIO: reading it as
a page table is what makes the CPU fault (the oops in the 2026 race).
"""

from __future__ import annotations

import attrs

from .pgtable import PageTable


@attrs.define
class Folio:
    kind: str = "file"  # file | anon | zero (the huge zero folio / zero page)
    order: int = 0
    flags: set = attrs.Factory(set)  # uptodate, dirty, writeback, ... (PG_locked is a lock)
    refcount: int = 1
    mapcount: int = 0
    mapping: str | None = None  # the address_space it belongs to, None once removed
    index: int = 0
    freed: bool = False
    data: object = None  # what the page holds (a content token), for data invariants


@attrs.define
class IoMem:
    name: str
    base: int
    npages: int


# pfn 0 is physical page 0: present in the direct map, but never a page table here
FIRST_PFN = 0x10


@attrs.define
class PhysMem:
    frames: dict = attrs.Factory(dict)  # pfn -> Folio | PageTable
    iomem: list = attrs.Factory(list)
    next_pfn: int = FIRST_PFN

    def alloc(self, obj, npages: int = 1) -> int:
        pfn = self.next_pfn
        self.next_pfn += npages
        self.frames[pfn] = obj
        return pfn

    def add_iomem(self, name: str, npages: int, align: int = 1) -> IoMem:
        base = -(-self.next_pfn // align) * align
        self.next_pfn = base + npages
        region = IoMem(name, base, npages)
        self.iomem.append(region)
        return region

    def describe(self, pfn: int) -> str:
        frame = self.frames.get(pfn)
        if isinstance(frame, PageTable):
            return f"a {frame.level.upper()} table"
        if isinstance(frame, Folio):
            return f"a {frame.kind} folio" + (" (freed)" if frame.freed else "")
        for r in self.iomem:
            if r.base <= pfn < r.base + r.npages:
                return f"device memory ({r.name} MMIO)"
        if pfn == 0:
            return "physical page 0"
        return "unallocated memory"

"""Physical memory: page frames that are folios, page tables, or device memory.

A pfn that is neither a folio nor a page table, inside a BAR, is MMIO: reading it as
a page table is what makes the CPU fault (the oops in the 2026 race). Persistent
memory (a device-DAX region) is device memory too, but memremap_pages() puts it in the
direct map: reading it as a page table does not fault, the walk goes on with its
contents as entries.
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
    direct_map: bool = False  # pmem (ZONE_DEVICE pages in the direct map), not MMIO


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

    def add_iomem(self, name: str, npages: int, align: int = 1, *, direct_map: bool = False) -> IoMem:
        base = -(-self.next_pfn // align) * align
        self.next_pfn = base + npages
        region = IoMem(name, base, npages, direct_map)
        self.iomem.append(region)
        return region

    def describe(self, pfn: int) -> str:
        frame = self.frames.get(pfn)
        if isinstance(frame, PageTable):
            return f"a {frame.level.upper()} table"
        if isinstance(frame, Folio):
            return f"a {frame.kind} folio" + (" (freed)" if frame.freed else "")
        r = self.region(pfn)
        if r is not None:
            return f"persistent memory ({r.name}, in the direct map)" if r.direct_map else f"device memory ({r.name} MMIO)"
        if pfn == 0:
            return "physical page 0"
        return "unallocated memory"

    def region(self, pfn: int) -> IoMem | None:
        return next((r for r in self.iomem if r.base <= pfn < r.base + r.npages), None)

"""struct address_space: the page cache of one file (or a device's mmap inode)."""

from __future__ import annotations

import attrs


@attrs.define
class AddressSpace:
    name: str
    i_size: int = 0  # in pages
    pages: dict = attrs.Factory(dict)  # index -> pfn of the cached folio
    truncate_count: int = 0  # 2.6-era unmap_mapping_range seqcount
    # the VMAs mapping this file (the i_mmap tree): (index into State.mms, vma name)
    i_mmap: list = attrs.Factory(list)

    @property
    def i_mmap_lock(self) -> str:
        """i_mmap_lock (a spinlock before 2.6.27) / i_mmap_rwsem (since)."""
        return f"i_mmap:{self.name}"

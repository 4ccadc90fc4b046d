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
    # IS_DAX(mapping->host): the inode's S_DAX flag (a device-DAX inode, a DAX file)
    dax: bool = False

    @property
    def invalidate_lock(self) -> str:
        """mapping->invalidate_lock (v5.15, 730633f0b7f9): fills shared, punch exclusive."""
        return f"invalidate_lock:{self.name}"

    @property
    def tree_lock(self) -> str:
        """mapping->tree_lock: the rwlock over the page-cache radix tree (until 2.6.27)."""
        return f"tree_lock:{self.name}"

    @property
    def i_mutex(self) -> str:
        """inode->i_mutex: truncate and (O_DIRECT) writes hold it (2.6.x)."""
        return f"i_mutex:{self.name}"

    @property
    def i_alloc_sem(self) -> str:
        """inode->i_alloc_sem (2.6.x): hole punch holds it for write."""
        return f"i_alloc_sem:{self.name}"

    @property
    def i_mmap_lock(self) -> str:
        """i_mmap_lock (a spinlock before 2.6.27) / i_mmap_rwsem (since)."""
        return f"i_mmap:{self.name}"

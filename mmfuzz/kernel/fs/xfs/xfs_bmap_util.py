"""fs/xfs/xfs_bmap_util.c: xfs_flush_unmap_range() and xfs_free_file_space() (hole punch)."""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode

xfs_free_file_space = code_path(
    "xfs_free_file_space", file="fs/xfs/xfs_bmap_util.c",
    doc="xfs_flush_unmap_range(): write back and truncate the page cache; xfs_free_file_space(): xfs_bunmapi() per extent")


@xfs_free_file_space.version("v5.8", since="v5.8",
                             models="v5.5..v6.11: xfs_file_fallocate() calls xfs_flush_unmap_range(), then xfs_free_file_space()")
class XfsFreeFileSpaceV58(KernelCode):
    """Drop the page cache of the range, then unmap and free its blocks one transaction each."""

    def xfs_flush_unmap_range(self, t, name: str, start: int, end: int):
        # filemap_write_and_wait_range(): no dirty pages in these scenarios
        yield from self.truncate_pagecache_range(t, name, start, end)

    def xfs_free_file_space(self, t, name: str, start: int, end: int):
        fs = self.s.extra["fs"]
        inode = fs.inodes[name]
        for index in range(start, end):
            if index not in inode.bmap:
                continue
            # xfs_unmap_extent(): a transaction; ILOCK_EXCL; xfs_bunmapi(); xfs_trans_commit() frees the extent
            yield "xfs_unmap_extent: xfs_bunmapi() under ILOCK_EXCL, xfs_trans_commit()"
            b = inode.bmap.pop(index)
            fs.free_block(b)
            t.note(f"index {index} is a hole now; block {b} is free")
        # page-aligned punch: no partial blocks for xfs_zero_range()

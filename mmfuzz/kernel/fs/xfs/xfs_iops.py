"""fs/xfs/xfs_iops.c: xfs_vn_setattr() -> xfs_setattr_size() (truncate).

Read in a v5.10.y xfs_iops.c (the same code as v5.8/v5.9 for a page-aligned truncate
down: iomap_truncate_page() has nothing to zero; the filemap_write_and_wait_range() of
the new EOF before it writes back no dirty page here). The VFS holds i_rwsem
(IOLOCK_EXCL); xfs_vn_setattr() takes MMAPLOCK_EXCL ("We've already locked out new page
faults"), which is mapping->invalidate_lock from v5.15 (2433480a7e1d: the same call,
xfs_ilock() changed under it).
"""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.fs.open import INODE_SETATTR

xfs_iops = code_path(
    "xfs_iops", file="fs/xfs/xfs_iops.c",
    doc="xfs_vn_setattr(ATTR_SIZE): MMAPLOCK_EXCL, xfs_setattr_size(): truncate_setsize(), xfs_itruncate_extents()")

INODE_SETATTR["xfs"] = "xfs_vn_setattr"  # xfs_inode_operations.setattr


@xfs_iops.version("v5.8", since="v5.8",
                  models="v5.8..v6.4 fs/xfs/xfs_iops.c xfs_vn_setattr()/xfs_setattr_size() for a shrinking, "
                         "page-aligned truncate (read in v5.10.y)")
class XfsIopsV58(KernelCode):
    """Truncate the page cache and the extents under IOLOCK_EXCL and MMAPLOCK_EXCL."""

    def xfs_vn_setattr(self, t, name: str, newsize: int):
        yield from self.xfs_ilock(t, name, ("MMAPLOCK_EXCL",))
        # xfs_break_layouts(): no pNFS layouts, no DAX
        yield from self.xfs_setattr_size(t, name, newsize)  # via xfs_vn_setattr_size()
        self.xfs_iunlock(t, name, ("MMAPLOCK_EXCL",))

    def xfs_setattr_size(self, t, name: str, newsize: int):
        # xfs_qm_dqattach(); inode_dio_wait(): no direct IO; iomap_truncate_page(): page-aligned
        yield from self.truncate_setsize(t, name, newsize)
        # xfs_trans_alloc(tr_itruncate); ILOCK_EXCL; di_size = newsize
        yield from self.xfs_itruncate_extents(t, name, newsize)

    def xfs_itruncate_extents(self, t, name: str, newsize: int):
        """Unmap and free every extent from newsize on (xfs_bunmapi() in rolled transactions)."""
        fs = self.s.extra["fs"]
        inode = fs.inodes[name]
        for index in sorted(i for i in inode.bmap if i >= newsize):
            yield "xfs_bunmapi() under ILOCK_EXCL, xfs_defer_finish()"
            b = inode.bmap.pop(index)
            fs.free_block(b)
            t.note(f"index {index} is gone; block {b} is free")

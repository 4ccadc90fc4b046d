"""A filesystem on the generic page-cache paths: no fill path takes a lock the punch holds.

It stands for the filesystems that, before v5.15, protected *no* fill path against hole
punch: faults, read() and readahead all unlocked, the punch under inode_lock only, which
faults cannot take. Jan Kara's v4 cover letter (Apr 2021) names ceph and cifs as having
no protection against the page-fault race either. ext4 and f2fs are not this: they took
i_mmap_sem in ->fault since v4.5 (see fs/ext4/inode.py, --fs ext4). v5.15 gave them all
mapping->invalidate_lock (730633f0b7f9 and the per-filesystem conversions in the same
pull). The punch here is the common shape: lock, truncate_pagecache_range(), free the
blocks, unlock.
"""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.fs.open import INODE_SETATTR
from mmfuzz.kernel.locking import down_write, up_write
from mmfuzz.kernel.mm.memory import VM_OPS, VmOperations

genericfs = code_path(
    "genericfs", file="fs/<generic>",
    doc="a filesystem using filemap_fault/filemap_map_pages/generic_file_read_iter/generic_fadvise; its punch_hole")


VM_OPS["generic"] = VmOperations("generic_file_vm_ops", fault="filemap_fault", map_pages="filemap_map_pages")
INODE_SETATTR["generic"] = "genericfs_setattr"


@genericfs.version("v5.8", since="v5.8",
                   models="pre-v5.15 punch_hole under inode_lock only; every fill path unlocked (as ceph and cifs)")
class GenericFsV58(KernelCode):
    """punch_hole(): inode_lock, truncate_pagecache_range(), free the blocks."""

    def genericfs_fallocate(self, t, name: str, start: int, end: int):
        inode = self.s.extra["fs"].inodes[name]
        yield from down_write(t, inode.i_rwsem)  # inode_lock()
        yield from self.genericfs_punch_hole(t, name, start, end)
        up_write(t, inode.i_rwsem)

    def genericfs_punch_hole(self, t, name: str, start: int, end: int):
        yield from self.truncate_pagecache_range(t, name, start, end)
        yield from self.genericfs_remove_space(t, name, start, end)

    def genericfs_setattr(self, t, name: str, newsize: int):
        """->setattr(ATTR_SIZE) as ext2's, under do_truncate()'s inode_lock: ext2_setattr() ->
        ext2_setsize(): truncate_setsize(), then __ext2_truncate_blocks() (its dax_sem does not
        cover page-cache faults)."""
        return self.genericfs_setsize(t, name, newsize)

    def genericfs_setsize(self, t, name: str, newsize: int):
        yield from self.truncate_setsize(t, name, newsize)
        yield from self.genericfs_remove_space(t, name, newsize, max(self.s.extra["fs"].inodes[name].bmap, default=-1) + 1)

    def genericfs_remove_space(self, t, name: str, start: int, end: int):
        fs = self.s.extra["fs"]
        inode = fs.inodes[name]
        for index in range(start, end):
            if index in inode.bmap:
                yield "remove the block from the block map and free it (journalled)"
                b = inode.bmap.pop(index)
                fs.free_block(b)
                t.note(f"index {index} is a hole now; block {b} is free")


@genericfs.version("v5.15", since="v5.15", commit="730633f0b7f9",
                   models="v5.15 conversions to invalidate_lock (ceph, cifs and the others in Jan Kara's pull)")
class GenericFsV515(GenericFsV58):
    """punch_hole() holds filemap_invalidate_lock() from the truncate to the block freeing."""

    def genericfs_punch_hole(self, t, name: str, start: int, end: int):
        space = self.s.files[name]
        yield from down_write(t, space.invalidate_lock)  # filemap_invalidate_lock()
        yield from self.truncate_pagecache_range(t, name, start, end)
        yield from self.genericfs_remove_space(t, name, start, end)
        up_write(t, space.invalidate_lock)

    def genericfs_setsize(self, t, name: str, newsize: int):
        space = self.s.files[name]
        yield from down_write(t, space.invalidate_lock)  # ext2_setsize(): filemap_invalidate_lock()
        yield from GenericFsV58.genericfs_setsize(self, t, name, newsize)
        up_write(t, space.invalidate_lock)

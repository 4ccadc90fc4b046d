"""fs/ext4/inode.c and fs/ext4/file.c: ext4's page faults, buffered read, hole punch, truncate.

Since v4.5 (ea3d7209ca01 "ext4: fix races between page faults and hole punching")
ext4_filemap_fault() and ext4_page_mkwrite() take EXT4_I(inode)->i_mmap_sem shared and
ext4_punch_hole() takes it exclusive around truncate_pagecache_range() and the block
freeing. Buffered read() (ext4_file_read_iter -> generic_file_read_iter) and
readahead/fadvise (generic_fadvise: ext4 has no ->fadvise) take no lock the punch holds.
v5.15 replaced i_mmap_sem by mapping->invalidate_lock (Jan Kara, "ext4: Convert to use
mapping->invalidate_lock"), which read() and readahead take too (730633f0b7f9).
Read from the conversion patch (May 2021 posting); the v5.9 lines it replaces are the
same calls on i_mmap_sem. ext4_setattr() (truncate) takes i_mmap_sem exclusive before it
changes i_size since b9c1c26739ec (Jan Kara, 2019: "ext4: Gracefully handle
ext4_break_layouts() failure during truncate"), read in a v5.4..v5.9 copy of
ext4_setattr() and in a later blame (the same lines, filemap_invalidate_lock() from
d4f5258eae7b, v5.15).
"""

from __future__ import annotations

from mmfuzz.engine.elide import lock_helper
from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.fs.open import INODE_SETATTR
from mmfuzz.kernel.locking import down_read, down_write, up_read, up_write
from mmfuzz.kernel.mm.memory import VM_OPS, VmOperations

ext4 = code_path(
    "ext4", file="fs/ext4/inode.c, fs/ext4/file.c",
    doc="ext4_file_vm_ops (.fault, .map_pages), ext4_file_read_iter(), ext4_punch_hole(), ext4_setattr()")


# ext4_file_vm_ops: .fault as the running kernel defines it, .map_pages = filemap_map_pages
VM_OPS["ext4"] = VmOperations("ext4_file_vm_ops", fault="ext4_fault", map_pages="filemap_map_pages")
INODE_SETATTR["ext4"] = "ext4_setattr"  # ext4_file_inode_operations.setattr
# it stands for the down_write() its callers make: their lock sites are the callers'
lock_helper("ext4_invalidate_lock")


@ext4.version("v5.8", since="v5.8",
              racy="read() and readahead/fadvise fill the hole without i_mmap_sem: stale data of freed blocks",
              models="v4.5 (ea3d7209ca01) .. v5.14 fs/ext4: ext4_filemap_fault() under i_mmap_sem (shared); "
                     "ext4_punch_hole() under inode_lock and i_mmap_sem (exclusive); buffered read unlocked; "
                     "ext4_setattr() takes i_mmap_sem before i_size changes (b9c1c26739ec, v5.3)")
class Ext4V58(KernelCode):
    """Faults and the punch exclude each other on i_mmap_sem; read() and readahead do not."""

    def ext4_i_mmap_sem(self, name: str) -> str:
        return f"ext4_i_mmap_sem:{name}"

    def ext4_fault(self, t, vmf):
        return self.ext4_filemap_fault(t, vmf)

    def ext4_filemap_fault(self, t, vmf):
        sem = self.ext4_i_mmap_sem(vmf.vma.file)
        yield from down_read(t, sem)
        ret = yield from self.filemap_fault(t, vmf)
        up_read(t, sem)
        return ret

    def ext4_file_read_iter(self, t, name: str, index: int):
        """Buffered read: generic_file_read_iter() with no ext4 lock."""
        return self.generic_file_read_iter(t, name, index)

    def ext4_punch_hole(self, t, name: str, start: int, end: int):
        """ext4_fallocate(FALLOC_FL_PUNCH_HOLE) of pages [start, end)."""
        inode = self.s.extra["fs"].inodes[name]
        yield from down_write(t, inode.i_rwsem)  # inode_lock(); inode_dio_wait(): no direct IO
        yield from self.ext4_invalidate_lock(t, name)  # "Prevent page faults from reinstantiating pages"
        # ext4_break_layouts(): no DAX
        yield from self.truncate_pagecache_range(t, name, start, end)
        yield from self.ext4_remove_space(t, name, start, end)
        self.ext4_invalidate_unlock(t, name)
        up_write(t, inode.i_rwsem)

    def ext4_setattr(self, t, name: str, newsize: int):
        """ATTR_SIZE, shrinking, page-aligned, under do_truncate()'s inode_lock: i_mmap_sem
        is held from before i_size changes until the blocks are freed."""
        # shrink: ext4_begin_ordered_truncate() (no dirty pages), inode_dio_wait() (no direct IO)
        yield from self.ext4_invalidate_lock(t, name)
        # ext4_break_layouts(): no DAX; ext4_journal_start(), ext4_orphan_add()
        yield "down_write(&EXT4_I(inode)->i_data_sem); i_disksize = ia_size; i_size_write(inode, ia_size)"
        self.s.files[name].i_size = newsize
        t.note(f"i_size = {newsize}")
        # up_write(i_data_sem); ext4_journal_stop(); "Truncate pagecache after we've waited for commit"
        yield from self.truncate_pagecache(t, name, newsize)
        yield from self.ext4_truncate(t, name, newsize)
        self.ext4_invalidate_unlock(t, name)

    def ext4_truncate(self, t, name: str, newsize: int):
        """ext4_ext_truncate(): ext4_ext_remove_space() from the new last block on."""
        end = max(self.s.extra["fs"].inodes[name].bmap, default=-1) + 1
        yield from self.ext4_remove_space(t, name, newsize, end)

    def ext4_invalidate_lock(self, t, name: str):
        yield from down_write(t, self.ext4_i_mmap_sem(name))

    def ext4_invalidate_unlock(self, t, name: str) -> None:
        up_write(t, self.ext4_i_mmap_sem(name))

    def ext4_remove_space(self, t, name: str, start: int, end: int):
        """ext4_ext_remove_space() in a journal handle: the blocks are free when it returns."""
        fs = self.s.extra["fs"]
        inode = fs.inodes[name]
        for index in range(start, end):
            if index in inode.bmap:
                yield "ext4_ext_remove_space(): ext4_free_blocks() (journalled)"
                b = inode.bmap.pop(index)
                fs.free_block(b)
                t.note(f"index {index} is a hole now; block {b} is free")


@ext4.version("v5.15", since="v5.15",
              models="v5.15 'ext4: Convert to use mapping->invalidate_lock' (Jan Kara's hole_punch pull): "
                     ".fault = filemap_fault, which takes invalidate_lock itself; the punch holds it exclusive")
class Ext4V515(Ext4V58):
    """i_mmap_sem is mapping->invalidate_lock; filemap_fault(), read() and readahead take it."""

    def ext4_fault(self, t, vmf):
        return self.filemap_fault(t, vmf)

    def ext4_invalidate_lock(self, t, name: str):
        yield from down_write(t, self.s.files[name].invalidate_lock)  # filemap_invalidate_lock()

    def ext4_invalidate_unlock(self, t, name: str) -> None:
        up_write(t, self.s.files[name].invalidate_lock)

"""fs/xfs/xfs_file.c: fallocate(PUNCH_HOLE), read(), fadvise(), page faults and ->map_pages.

XFS serialises page-cache fills against hole punch with its own locks: IOLOCK (the
inode's i_rwsem) for read() and fadvise(), MMAPLOCK for page faults. MMAPLOCK was
xfs_inode->i_mmaplock until v5.15 made it mapping->invalidate_lock (2433480a7e1d).
"""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, down_write, up_read
from mmfuzz.kernel.mm.memory import VM_OPS, VmOperations

xfs_file = code_path(
    "xfs_file", file="fs/xfs/xfs_file.c",
    doc="xfs_file_fallocate(), xfs_file_read_iter(), xfs_file_fadvise(), xfs_filemap_fault(), xfs_filemap_map_pages()")

EXCL_FLAGS = ("IOLOCK_EXCL", "MMAPLOCK_EXCL")


# xfs_file_vm_ops: .fault and .map_pages, as the running kernel defines them
VM_OPS["xfs"] = VmOperations("xfs_file_vm_ops", fault="xfs_filemap_fault", map_pages="xfs_vm_map_pages")


@xfs_file.version("v5.8", since="v5.8",
                  models="v5.8 fs/xfs/xfs_file.c: MMAPLOCK_SHARED around filemap_fault(); .map_pages = filemap_map_pages")
class XfsFileV58(KernelCode):
    """Punch under IOLOCK_EXCL|MMAPLOCK_EXCL; faults under MMAPLOCK_SHARED; fault-around takes no XFS lock."""

    def xfs_mmaplock(self, name: str) -> str:
        return self.s.extra["fs"].inodes[name].i_mmaplock

    def xfs_ilock(self, t, name: str, flags):
        inode = self.s.extra["fs"].inodes[name]
        if "IOLOCK_EXCL" in flags:
            yield from down_write(t, inode.i_rwsem)
        elif "IOLOCK_SHARED" in flags:
            yield from down_read(t, inode.i_rwsem)
        if "MMAPLOCK_EXCL" in flags:
            yield from down_write(t, self.xfs_mmaplock(name))
        elif "MMAPLOCK_SHARED" in flags:
            yield from down_read(t, self.xfs_mmaplock(name))

    def xfs_iunlock(self, t, name: str, flags) -> None:
        inode = self.s.extra["fs"].inodes[name]
        if "MMAPLOCK_EXCL" in flags or "MMAPLOCK_SHARED" in flags:
            up_read(t, self.xfs_mmaplock(name))
        if "IOLOCK_EXCL" in flags or "IOLOCK_SHARED" in flags:
            up_read(t, inode.i_rwsem)

    def xfs_file_fallocate(self, t, name: str, start: int, end: int):
        """fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) of pages [start, end)."""
        yield from self.xfs_ilock(t, name, EXCL_FLAGS)
        # xfs_break_layouts(), inode_dio_wait(): no pNFS layouts, no direct IO here
        yield from self.xfs_flush_unmap_range(t, name, start, end)
        yield from self.xfs_free_file_space(t, name, start, end)
        self.xfs_iunlock(t, name, EXCL_FLAGS)

    def xfs_file_read_iter(self, t, name: str, index: int):
        # xfs_file_buffered_aio_read()
        yield from self.xfs_ilock(t, name, ("IOLOCK_SHARED",))
        data = yield from self.generic_file_read_iter(t, name, index)
        self.xfs_iunlock(t, name, ("IOLOCK_SHARED",))
        return data

    def xfs_file_fadvise(self, t, name: str, start: int, nr: int):
        """POSIX_FADV_WILLNEED under IOLOCK_SHARED (2019: stale data exposure vs hole punch)."""
        yield from self.xfs_ilock(t, name, ("IOLOCK_SHARED",))
        yield from self.generic_fadvise(t, name, start, nr)
        self.xfs_iunlock(t, name, ("IOLOCK_SHARED",))

    def xfs_filemap_fault(self, t, vmf):
        return (yield from self._xfs_filemap_fault(t, vmf, False))

    def _xfs_filemap_fault(self, t, vmf, write_fault: bool):
        name = vmf.vma.file
        yield from self.xfs_ilock(t, name, ("MMAPLOCK_SHARED",))
        ret = yield from self.filemap_fault(t, vmf)
        self.xfs_iunlock(t, name, ("MMAPLOCK_SHARED",))
        return ret

    def xfs_vm_map_pages(self, t, vmf, start_pgoff: int, end_pgoff: int):
        return self.filemap_map_pages(t, vmf, start_pgoff, end_pgoff)  # .map_pages = filemap_map_pages


@xfs_file.version("v5.9", since="v5.9", commit="cd647d5651c0",
                  models="cd647d5651c0 'xfs: use MMAPLOCK around filemap_map_pages()' (v5.9-rc1)")
class XfsFileV59(XfsFileV58):
    """.map_pages = xfs_filemap_map_pages(): filemap_map_pages() under MMAPLOCK_SHARED."""

    def xfs_vm_map_pages(self, t, vmf, start_pgoff: int, end_pgoff: int):
        return self.xfs_filemap_map_pages(t, vmf, start_pgoff, end_pgoff)

    def xfs_filemap_map_pages(self, t, vmf, start_pgoff: int, end_pgoff: int):
        name = vmf.vma.file
        yield from self.xfs_ilock(t, name, ("MMAPLOCK_SHARED",))
        yield from self.filemap_map_pages(t, vmf, start_pgoff, end_pgoff)
        self.xfs_iunlock(t, name, ("MMAPLOCK_SHARED",))


@xfs_file.version("v5.15", since="v5.15", commit="2433480a7e1d",
                  models="2433480a7e1d 'xfs: Convert to use invalidate_lock' (v5.15)")
class XfsFileV515(XfsFileV59):
    """MMAPLOCK is mapping->invalidate_lock; read faults leave it to filemap_fault()."""

    def xfs_mmaplock(self, name: str) -> str:
        return self.s.files[name].invalidate_lock

    def _xfs_filemap_fault(self, t, vmf, write_fault: bool):
        # non-DAX read fault: filemap_fault() takes invalidate_lock itself when it must
        return (yield from self.filemap_fault(t, vmf))


@xfs_file.version("v6.4", since="v6.4",
                  models="Matthew Wilcox, 'xfs: remove xfs_filemap_map_pages() wrapper' (2023; landing release [mem])")
class XfsFileV64(XfsFileV515):
    """.map_pages = filemap_map_pages again: it never instantiates pages."""

    def xfs_vm_map_pages(self, t, vmf, start_pgoff: int, end_pgoff: int):
        return self.filemap_map_pages(t, vmf, start_pgoff, end_pgoff)

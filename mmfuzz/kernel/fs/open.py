"""fs/open.c: truncate(2) -> do_truncate(): inode_lock, notify_change() -> ->setattr.

The VFS takes inode->i_rwsem (XFS's IOLOCK) for the whole setattr; each filesystem's
->setattr (inode_operations.setattr) takes what else it needs. ``INODE_SETATTR`` maps a
filesystem to the kernel function its inode_operations name, as ``VM_OPS`` does for
vm_operations_struct.
"""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_write, up_write

do_truncate = code_path(
    "do_truncate", file="fs/open.c",
    doc="do_truncate(): inode_lock(), notify_change() -> inode->i_op->setattr(ATTR_SIZE), inode_unlock()")

# fs type -> the function its inode_operations.setattr names
INODE_SETATTR: dict[str, str] = {}


@do_truncate.version("v5.8", since="v5.8", models="v5.8..v6.4 fs/open.c do_truncate() (unchanged for a shrinking truncate)")
class DoTruncateV58(KernelCode):
    """inode_lock() around ->setattr: truncate excludes every path that takes i_rwsem."""

    def do_truncate(self, t, name: str, newsize: int):
        inode = self.s.extra["fs"].inodes[name]
        yield from down_write(t, inode.i_rwsem)  # inode_lock(dentry->d_inode)
        setattr_ = getattr(self, INODE_SETATTR[self.s.extra["fs_type"]])
        yield from setattr_(t, name, newsize)  # notify_change(): ATTR_SIZE
        up_write(t, inode.i_rwsem)

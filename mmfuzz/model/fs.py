"""A filesystem under the page cache: disk blocks, per-inode block maps, an allocator.

Block contents say which file and write they came from ("f/0 w1"), so a page read
from a block that was freed and reused shows whose data it holds. A page's
``Folio.data`` is ``ZEROS`` (read from a hole) or ``BlockData`` (read from a block).
"""

from __future__ import annotations

import attrs

ZEROS = "zeros"


@attrs.frozen
class BlockData:
    block: int
    contents: str  # what the block held when the IO read it

    def __str__(self) -> str:
        return f"block {self.block} data '{self.contents}'"


@attrs.define
class Block:
    owner: str | None  # the inode it belongs to, None when free
    contents: str  # freeing a block does not clear it


@attrs.define
class Inode:
    name: str
    bmap: dict = attrs.Factory(dict)  # file page index -> disk block (absent: a hole)

    @property
    def i_rwsem(self) -> str:
        """inode->i_rwsem; XFS_IOLOCK is this rwsem since v4.7."""
        return f"i_rwsem:{self.name}"

    @property
    def i_mmaplock(self) -> str:
        """xfs_inode->i_mmaplock (v4.1 to v5.14; mapping->invalidate_lock since v5.15)."""
        return f"xfs_mmaplock:{self.name}"


@attrs.define
class FsState:
    blocks: dict = attrs.Factory(dict)  # block number -> Block
    free: list = attrs.Factory(list)  # the allocator hands out free[0] first
    inodes: dict = attrs.Factory(dict)  # name -> Inode
    writes: int = 0  # a counter naming each write

    def alloc_block(self, owner: str) -> int:
        b = self.free.pop(0)
        self.blocks[b].owner = owner
        return b

    def free_block(self, b: int) -> None:
        self.blocks[b].owner = None
        self.free.append(b)


def block_state(fs: FsState, b: int) -> str:
    """What became of a block, for reports."""
    blk = fs.blocks[b]
    if blk.owner is None:
        return f"block {b} is free"
    return f"block {b} now belongs to {blk.owner} and holds '{blk.contents}'"

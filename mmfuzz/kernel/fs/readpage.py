"""->readpage / ->readahead: map a page's block, read it, SetPageUptodate, unlock_page.

XFS uses iomap (fs/iomap/buffered-io.c: the extent map is read by xfs_read_iomap_begin()
under ILOCK_SHARED); the generic filesystem uses fs/mpage.c with its get_block. Either
way the block is looked up when the IO is built, and the disk is read when it runs: a
block freed and reused in between hands the page another file's data.

The bio completes on the submitting CPU, as its own step after the submit (the caller
waits for it: wait_on_page_locked, or readahead's caller reads the page next).
"""

from __future__ import annotations

from mmfuzz.engine.task import inline
from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import unlock_page
from mmfuzz.model.fs import ZEROS, BlockData

readpage = code_path(
    "readpage", file="fs/iomap/buffered-io.c, fs/mpage.c",
    doc="iomap_readpage()/mpage_readpage() and ->readahead: block map lookup, bio, end_io")


def fs_type(s) -> str:
    return s.extra["fs_type"]


@readpage.version("v5.8", since="v5.8",
                  models="v5.8..v5.15 iomap_readpage()/iomap_readahead() (XFS) and mpage_readpage()/mpage_readahead()")
class ReadpageV58(KernelCode):
    """Look the block up when building the bio; read the disk when the bio completes."""

    def a_ops_readpage(self, t, mapping: str, pfn: int):
        """mapping->a_ops->readpage(file, page): the page is locked, and unlocked at IO end."""
        if fs_type(self.s) == "xfs":
            yield from self.iomap_readpage(t, mapping, pfn)
        else:
            yield from self.mpage_readpage(t, mapping, pfn)

    def a_ops_readahead(self, t, mapping: str, pfns: list):
        """mapping->a_ops->readahead(rac): each locked page is read like ->readpage."""
        for pfn in pfns:
            if fs_type(self.s) == "xfs":
                yield from self.iomap_readpage(t, mapping, pfn)
            else:
                yield from self.mpage_readpage(t, mapping, pfn)

    def iomap_readpage(self, t, mapping: str, pfn: int):
        yield "xfs_read_iomap_begin: xfs_bmapi_read() under ILOCK_SHARED"
        yield from self._read_block(t, mapping, pfn)

    def mpage_readpage(self, t, mapping: str, pfn: int):
        yield "get_block(inode, block_in_file, &map_bh, 0)"
        yield from self._read_block(t, mapping, pfn)

    @inline
    def _read_block(self, t, mapping: str, pfn: int):
        folio = self.folio(pfn)
        inode = self.s.extra["fs"].inodes[mapping]
        b = inode.bmap.get(folio.index)
        if b is None:  # a hole: zero the page, no IO
            folio.data = ZEROS
            folio.flags.add("uptodate")
            unlock_page(t, pfn)
            t.note(f"index {folio.index} is a hole: zero page {pfn:#x}, SetPageUptodate, unlock_page")
            return
        t.note(f"index {folio.index} -> block {b}: submit_bio(READ)")
        yield "end_bio: SetPageUptodate, unlock_page"
        contents = self.s.extra["fs"].blocks[b].contents
        folio.data = BlockData(b, contents)
        folio.flags.add("uptodate")
        unlock_page(t, pfn)
        t.note(f"page {pfn:#x} (index {folio.index}) <- block {b}: '{contents}'")

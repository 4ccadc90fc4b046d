"""mm/readahead.c (and fadvise(WILLNEED) in mm/fadvise.c): readahead instantiates pages.

The file is FMODE_RANDOM (fadvise(POSIX_FADV_RANDOM)), so read()'s sync readahead is
force_page_cache_readahead() of the requested page, as fadvise(WILLNEED) is.
"""

from __future__ import annotations

from mmfuzz.engine.task import inline
from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, up_read
from mmfuzz.kernel.mm import page_cache as pc

page_cache_ra_unbounded = code_path(
    "page_cache_ra_unbounded", file="mm/readahead.c",
    doc="force_page_cache_readahead() -> page_cache_readahead_unbounded() / page_cache_ra_unbounded(): add pages, read_pages()")


@page_cache_ra_unbounded.version("v5.8", since="v5.8",
                                 models="v5.8/v5.9 page_cache_readahead_unbounded() (renamed page_cache_ra_unbounded in v5.10), no fs lock")
class ReadaheadV58(KernelCode):
    """Insert a locked !uptodate page for each missing index, then ->readahead reads them."""

    def generic_fadvise(self, t, mapping: str, start: int, nr: int):
        """generic_fadvise(POSIX_FADV_WILLNEED)."""
        yield from self.force_page_cache_readahead(t, mapping, start, nr)

    def page_cache_sync_readahead(self, t, mapping: str, index: int, nr: int):
        # FMODE_RANDOM: "be dumb"
        yield from self.force_page_cache_readahead(t, mapping, index, nr)

    def force_page_cache_readahead(self, t, mapping: str, index: int, nr: int):
        nr = min(nr, self.s.files[mapping].i_size - index)  # __do_page_cache_readahead(): not beyond EOF
        if nr > 0:
            yield from self.page_cache_readahead_unbounded(t, mapping, index, nr)

    def page_cache_readahead_unbounded(self, t, mapping: str, index: int, nr: int):
        yield from self._ra_add_and_read(t, mapping, index, nr)

    @inline
    def _ra_add_and_read(self, t, mapping: str, index: int, nr: int):
        batch: list = []
        for i in range(index, index + nr):
            # xa_load(); a present page ends the batch; add_to_page_cache_lru() re-checks under xa_lock
            yield "add_to_page_cache_lru(page, mapping, index + i)"
            pfn = pc.add_to_page_cache_lru(self, t, mapping, i)
            if pfn is None:
                t.note(f"index {i} is cached: read_pages() the batch so far")
                yield from self.read_pages(t, mapping, batch)
                batch = []
                continue
            batch.append(pfn)
        yield from self.read_pages(t, mapping, batch)

    def read_pages(self, t, mapping: str, pfns: list):
        if pfns:
            yield from self.a_ops_readahead(t, mapping, pfns)
        for pfn in pfns:
            self.folio_put(pfn)  # the readahead reference; the page cache keeps its own


@page_cache_ra_unbounded.version("v5.15", since="v5.15", commit="730633f0b7f9",
                                 models="730633f0b7f9: page_cache_ra_unbounded() under invalidate_lock (shared)")
class ReadaheadV515(ReadaheadV58):
    """The same, holding mapping->invalidate_lock shared from allocation to read_pages()."""

    def page_cache_sync_readahead(self, t, mapping: str, index: int, nr: int):
        yield from self.force_page_cache_ra(t, mapping, index, nr)  # page_cache_sync_ra()

    def generic_fadvise(self, t, mapping: str, start: int, nr: int):
        yield from self.force_page_cache_ra(t, mapping, start, nr)

    def force_page_cache_readahead(self, t, mapping: str, index: int, nr: int):
        yield from self.force_page_cache_ra(t, mapping, index, nr)

    def force_page_cache_ra(self, t, mapping: str, index: int, nr: int):
        nr = min(nr, self.s.files[mapping].i_size - index)  # do_page_cache_ra()
        if nr > 0:
            yield from self.page_cache_ra_unbounded(t, mapping, index, nr)

    def page_cache_ra_unbounded(self, t, mapping: str, index: int, nr: int):
        space = self.s.files[mapping]
        yield from down_read(t, space.invalidate_lock)
        yield from self._ra_add_and_read(t, mapping, index, nr)
        up_read(t, space.invalidate_lock)

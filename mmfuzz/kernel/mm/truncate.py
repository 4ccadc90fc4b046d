"""mm/truncate.c: removing pages from the page cache (truncate, hole punch, invalidate)."""

from __future__ import annotations

from mmfuzz.engine.versions import code_path

# Shared by both eras: one path, versions from 2.6.20 to v5.9 and the variants.
truncate_inode_pages_range = code_path(
    "truncate_inode_pages_range", file="mm/truncate.c",
    doc="truncate_inode_pages_range(): lock each page in the range and delete it from the page cache")

# ---- 2007: v2.6.20, v2.6.23 (d00806b18315), the January 2007 RFC (race A) -----------
# Sources: a 2.6.19/2.6.20 mm/truncate.c (index id=711540); d00806b18315 as merged (the
# page_mapped() checks, if + BUG_ON in invalidate); the January 2007 RFC (id=22042164650).
from mmfuzz.engine.task import inline as _inline26  # noqa: E402
from mmfuzz.engine.violations import Bug as _Bug26  # noqa: E402
from mmfuzz.kernel.base import KernelCode as _KernelCode26  # noqa: E402
from mmfuzz.kernel.locking import (  # noqa: E402
    lock_page as _lock_page26, trylock_page as _trylock_page26, unlock_page as _unlock_page26,
)
from mmfuzz.kernel.mm.filemap import EIO as _EIO, rw_unlock_irq as _rw_unlock_irq, write_lock_irq as _write_lock_irq  # noqa: E402
from mmfuzz.kernel.mm.memory import END_OF_2007_MODEL as _END_2007  # noqa: E402

_TO_EOF = 1 << 40  # lend == -1

invalidate_inode_pages2_range = code_path(
    "invalidate_inode_pages2_range", file="mm/truncate.c",
    doc="invalidate_inode_pages2_range(): lock each page, unmap it while mapped, invalidate_complete_page2()")


@truncate_inode_pages_range.version("v2.6.20", since="v2.6.20",
                                    racy="nothing unmaps a page a fault maps after unmap_mapping_range(): "
                                         "only the truncate_count seqlock in do_no_page() prevents that",
                                    models="v2.6.20 mm/truncate.c: a trylock pass, then a lock_page pass; "
                                           "truncate_complete_page(); no page_mapped() check")
class TruncateInodePagesRangeV2620(_KernelCode26):
    """Remove every page in the range under its page lock; mapped or not."""

    def truncate_inode_pages(self, t, mapping: str, lstart: int):
        """Called under (and serialised by) i_mutex."""
        yield from self.truncate_inode_pages_range(t, mapping, lstart, _TO_EOF)

    def truncate_inode_pages_range(self, t, mapping: str, start: int, end: int):
        """start, end: page indexes, end inclusive (page-aligned: no partial page)."""
        space = self.s.files[mapping]
        yield "mapping->nrpages == 0"
        if not space.pages:
            return
        nxt = start
        while nxt <= end:  # pass 1: skip locked pages
            pvec = yield from self.pagevec_lookup(t, mapping, nxt)
            if not pvec:
                break
            for pfn in pvec:
                page_index = self.folio(pfn).index
                if page_index > end:
                    nxt = page_index
                    break
                nxt = max(nxt, page_index) + 1
                yield "TestSetPageLocked(page)"
                if not _trylock_page26(t, pfn):
                    t.note(f"page {pfn:#x} is locked: skip")
                    continue
                yield from self.truncate_unmap_page(t, mapping, pfn, page_index)
                yield from self.truncate_complete_page(t, mapping, pfn)
                _unlock_page26(t, pfn)
            self.pagevec_release(pvec)
        nxt = start
        while True:  # pass 2: wait for each page lock
            pvec = yield from self.pagevec_lookup(t, mapping, nxt)
            if not pvec:
                if nxt == start:
                    break
                nxt = start
                continue
            if self.folio(pvec[0]).index > end:
                self.pagevec_release(pvec)
                break
            for pfn in pvec:
                folio = self.folio(pfn)
                if folio.index > end:
                    break
                yield from _lock_page26(t, pfn)  # then wait_on_page_writeback(): none in flight
                yield from self.truncate_unmap_page(t, mapping, pfn, folio.index)
                nxt = max(nxt, folio.index) + 1
                yield from self.truncate_complete_page(t, mapping, pfn)
                _unlock_page26(t, pfn)
            self.pagevec_release(pvec)

    @_inline26
    def truncate_unmap_page(self, t, mapping: str, pfn: int, index: int):
        """Nothing before d00806b18315: the caller unmapped the range already."""
        return
        yield

    def truncate_complete_page(self, t, mapping: str, pfn: int):
        folio = self.folio(pfn)
        if folio.mapping != mapping:  # reclaimed or invalidated while we waited
            return
        yield "ClearPageUptodate(page)"  # after test_clear_page_dirty(): the data is cancelled
        folio.flags -= {"dirty", "uptodate"}
        yield from self.remove_from_page_cache(t, pfn)
        self.page_cache_release(pfn)  # the page cache's reference


@truncate_inode_pages_range.version("v2.6.23", since="v2.6.23", commit="d00806b18315",
                                    models="d00806b18315: under the page lock, in both passes, "
                                           "if (page_mapped(page)) unmap_mapping_range(page, 1 page, even_cows=0)")
class TruncateInodePagesRangeV2623(TruncateInodePagesRangeV2620):
    """A page still mapped under its lock (a fault mapped it after the unmap) is unmapped first."""

    @_inline26
    def truncate_unmap_page(self, t, mapping: str, pfn: int, index: int):
        yield "page_mapped(page)"
        if self.folio(pfn).mapcount > 0:
            yield from self.unmap_mapping_range(t, mapping, index, 1, False)


@truncate_inode_pages_range.version("rfc-jan2007",
                                    models="Nick Piggin's January 2007 RFC '[patch 3/7] mm: fix fault vs invalidate "
                                           "race for linear mappings': while (page_mapped(page)) unmap_mapping_range()")
class TruncateInodePagesRangeRfcJan2007(TruncateInodePagesRangeV2620):
    """`while (page_mapped(page))` instead of the merged `if`."""

    @_inline26
    def truncate_unmap_page(self, t, mapping: str, pfn: int, index: int):
        while True:
            yield "page_mapped(page)"
            if self.folio(pfn).mapcount == 0:
                return
            yield from self.unmap_mapping_range(t, mapping, index, 1, False)


@invalidate_inode_pages2_range.version("v2.6.20", since="v2.6.20",
                                       racy="a fault maps the page between the page_mapped() loop and "
                                            "invalidate_complete_page2(): it leaves the cache still mapped (A.4)",
                                       models="v2.6.20 mm/truncate.c: while (page_mapped(page)) unmap; "
                                              "test_clear_page_dirty(); invalidate_complete_page2()")
class InvalidateInodePages2RangeV2620(_KernelCode26):
    """Under the page lock: unmap while mapped, then drop the page (its refcount ignored)."""

    def invalidate_inode_pages2_range(self, t, mapping: str, start: int, end: int):
        ret = 0
        did_range_unmap = [False]
        nxt = start
        while nxt <= end and not ret:
            pvec = yield from self.pagevec_lookup(t, mapping, nxt, min(end - nxt, 13) + 1)
            if not pvec:
                break
            for pfn in pvec:
                if ret:
                    break
                yield from _lock_page26(t, pfn)
                folio = self.folio(pfn)
                if folio.mapping != mapping:
                    _unlock_page26(t, pfn)
                    continue
                page_index = folio.index
                nxt = page_index + 1
                if page_index > end:
                    _unlock_page26(t, pfn)
                    break
                # wait_on_page_writeback(): none in flight
                yield from self.invalidate_unmap_page(t, mapping, pfn, page_index, end, did_range_unmap)
                ret = yield from self.invalidate_release_page(t, mapping, pfn)
                _unlock_page26(t, pfn)
            self.pagevec_release(pvec)
        return ret

    @_inline26
    def invalidate_unmap_page(self, t, mapping: str, pfn: int, page_index: int, end: int, did_range_unmap):
        while True:
            yield "page_mapped(page)"
            if self.folio(pfn).mapcount == 0:
                return
            yield from self.invalidate_unmap_once(t, mapping, page_index, end, did_range_unmap)

    @_inline26
    def invalidate_unmap_once(self, t, mapping: str, page_index: int, end: int, did_range_unmap):
        if not did_range_unmap[0]:  # zap the rest of the file in one hit
            yield from self.unmap_mapping_range(t, mapping, page_index, end - page_index + 1, False)
            did_range_unmap[0] = True
        else:  # just zap this page
            yield from self.unmap_mapping_range(t, mapping, page_index, 1, False)

    @_inline26
    def invalidate_release_page(self, t, mapping: str, pfn: int):
        yield "was_dirty = test_clear_page_dirty(page)"
        folio = self.folio(pfn)
        was_dirty = "dirty" in folio.flags
        folio.flags.discard("dirty")
        if not (yield from self.invalidate_complete_page2(t, mapping, pfn)):
            if was_dirty:
                folio.flags.add("dirty")  # set_page_dirty()
            return _EIO
        return 0

    def invalidate_complete_page2(self, t, mapping: str, pfn: int):
        """Like invalidate_complete_page(), but ignores the page's refcount (and its mapcount)."""
        folio = self.folio(pfn)
        if folio.mapping != mapping:
            return 0
        space = self.s.files[mapping]
        yield from _write_lock_irq(t, space.tree_lock)
        if "dirty" in folio.flags:
            _rw_unlock_irq(t, space.tree_lock)
            t.note("PageDirty: failed")
            return 0
        self._remove_from_page_cache(t, pfn)
        _rw_unlock_irq(t, space.tree_lock)
        yield "ClearPageUptodate(page)"
        folio.flags.discard("uptodate")
        self.page_cache_release(pfn)  # the page cache's reference
        return 1


@invalidate_inode_pages2_range.version("v2.6.23", since="v2.6.23", commit="d00806b18315",
                                       models="d00806b18315 as merged: if (page_mapped) unmap; BUG_ON(page_mapped(page)); "
                                              "do_launder_page(); invalidate_complete_page2()")
class InvalidateInodePages2RangeV2623(InvalidateInodePages2RangeV2620):
    """One unmap under the page lock suffices now; a page still mapped after it is a BUG."""

    @_inline26
    def invalidate_unmap_page(self, t, mapping: str, pfn: int, page_index: int, end: int, did_range_unmap):
        yield "page_mapped(page)"
        if self.folio(pfn).mapcount > 0:
            yield from self.invalidate_unmap_once(t, mapping, page_index, end, did_range_unmap)
        yield "BUG_ON(page_mapped(page))"
        if self.folio(pfn).mapcount > 0:
            raise _Bug26(f"BUG_ON(page_mapped(page)): page {pfn:#x} is mapped {self.folio(pfn).mapcount} time(s)")

    @_inline26
    def invalidate_release_page(self, t, mapping: str, pfn: int):
        ret = self.do_launder_page(mapping, pfn)
        if ret == 0 and not (yield from self.invalidate_complete_page2(t, mapping, pfn)):
            ret = _EIO
        return ret

    def do_launder_page(self, mapping: str, pfn: int) -> int:
        """A dirty page is laundered only by filesystems with ->launder_page: not this one."""
        return 0


invalidate_inode_pages2_range.retire(_END_2007, "not modelled after the 2007 race")


# ---- 2020: v5.9 with truncate_cleanup_page(), and without its re-unmap (race B) ------
from mmfuzz.kernel.base import KernelCode as _KernelCode  # noqa: E402
from mmfuzz.kernel.locking import lock_page as _lock_page, trylock_page as _trylock_page  # noqa: E402
from mmfuzz.kernel.locking import unlock_page as _unlock_page  # noqa: E402
from mmfuzz.kernel.mm.page_cache import delete_from_page_cache as _delete_from_page_cache  # noqa: E402

PAGEVEC_SIZE = 15


def _pagevec_lookup_entries(k, mapping: str, index: int, end: int) -> list:
    """pagevec_lookup_entries(): up to PAGEVEC_SIZE (index, pfn) from index on, each with a reference."""
    space = k.s.files[mapping]
    out = []
    for i in sorted(i for i in space.pages if index <= i < end)[:PAGEVEC_SIZE]:
        pfn = space.pages[i]
        if k.folio_try_get(pfn):
            out.append((i, pfn))
    return out


def _pagevec_release(k, pvec: list) -> None:
    for _, pfn in pvec:
        k.folio_put(pfn)


@truncate_inode_pages_range.version("v5.8", since="v5.8",
                                    models="v4.x..v5.11 mm/truncate.c (read from a v5.x copy): trylock pass, lock_page pass, "
                                           "truncate_cleanup_page() re-unmaps a mapped page under its lock; truncate_pagecache_range(). "
                                           "Also run for v5.15/v6.4: find_lock_entries() (v5.12) and unmap_mapping_page() (v5.13) keep "
                                           "'lock, re-unmap if mapped, delete, unlock'")
class TruncateV58(_KernelCode):
    """Unmap, then delete each page with its lock held from the re-unmap to the deletion."""

    def truncate_setsize(self, t, mapping: str, newsize: int):
        """i_size_write() first, then truncate_pagecache(): a shrinking, page-aligned truncate."""
        yield "i_size_write(inode, newsize)"
        self.s.files[mapping].i_size = newsize
        t.note(f"i_size = {newsize}")
        yield from self.truncate_pagecache(t, mapping, newsize)

    def truncate_pagecache(self, t, mapping: str, newsize: int):
        """Unmap (even_cows), truncate, unmap again: the second unmap catches private pages
        COWed meanwhile ("hence the second unmap_mapping_range call must be made")."""
        yield from self.unmap_mapping_range(t, mapping, newsize, 0, True)
        yield from self.truncate_inode_pages_range(t, mapping, newsize, 1 << 40)  # truncate_inode_pages()
        yield from self.unmap_mapping_range(t, mapping, newsize, 0, True)

    def truncate_pagecache_range(self, t, mapping: str, start: int, end: int):
        """Page-aligned [start, end): unmap once (hole punch keeps private COW pages), then truncate."""
        if end > start:
            yield from self.unmap_mapping_range(t, mapping, start, end - start, False)
        yield from self.truncate_inode_pages_range(t, mapping, start, end)

    def truncate_inode_pages_range(self, t, mapping: str, start: int, end: int):
        # page-aligned punch: no partial pages to zero
        index = start
        while index < end:
            yield "pagevec_lookup_entries(&pvec, mapping, index, ...)"
            pvec = _pagevec_lookup_entries(self, mapping, index, end)
            if not pvec:
                break
            locked = []
            for idx, pfn in pvec:
                index = idx
                yield "trylock_page(page)"
                if not _trylock_page(t, pfn):
                    t.note(f"trylock_page({pfn:#x}) fails: leave it to the second pass")
                    continue
                if self.folio(pfn).mapping != mapping:
                    _unlock_page(t, pfn)
                    continue
                t.note(f"page {pfn:#x} (index {idx}) locked")
                locked.append(pfn)
            for pfn in locked:
                yield from self.truncate_cleanup_page(t, mapping, pfn)
            if locked:
                yield "delete_from_page_cache_batch(mapping, &locked_pvec)"
                for pfn in locked:
                    _delete_from_page_cache(self, t, mapping, pfn)
                    _unlock_page(t, pfn)
            _pagevec_release(self, pvec)
            index += 1
        index = start
        while True:
            yield "pagevec_lookup_entries(&pvec, mapping, index, ...)"
            pvec = _pagevec_lookup_entries(self, mapping, index, end)
            if not pvec:
                if index == start:  # all gone from start onwards
                    break
                index = start  # restart to make sure all gone
                continue
            for idx, pfn in pvec:
                index = idx
                yield from _lock_page(t, pfn)
                yield from self.truncate_inode_page(t, mapping, pfn)
                _unlock_page(t, pfn)
            _pagevec_release(self, pvec)
            index += 1

    def truncate_inode_page(self, t, mapping: str, pfn: int):
        if self.folio(pfn).mapping != mapping:
            return -5  # -EIO
        yield from self.truncate_cleanup_page(t, mapping, pfn)
        yield "delete_from_page_cache(page)"
        _delete_from_page_cache(self, t, mapping, pfn)
        return 0

    def truncate_cleanup_page(self, t, mapping: str, pfn: int):
        """Called with the page locked: no fault can map it again before it is deleted."""
        yield "if (page_mapped(page))"
        folio = self.folio(pfn)
        if folio.mapcount > 0:
            t.note(f"page {pfn:#x} is mapped {folio.mapcount}x: unmap it again")
            yield from self.unmap_mapping_pages(t, mapping, folio.index, 1, False)
        # do_invalidatepage(), cancel_dirty_page(), ClearPageMappedToDisk(): nothing to model


@truncate_inode_pages_range.version("no-reunmap", mutant=True,
                                    models="the premise of Dave Chinner's trace (seed 000, Sep 2020): truncate_cleanup_page() "
                                           "without its page_mapped() -> unmap_mapping_pages() under the page lock")
class TruncateNoReunmap(TruncateV58):
    """As v5.8, but a page mapped after the first unmap is deleted from the cache still mapped."""

    def truncate_cleanup_page(self, t, mapping: str, pfn: int):
        return
        yield  # a generator, like the version it replaces


# ---- protection mutants of the 2007 versions (mmfuzz mutate) -------------------------

@truncate_inode_pages_range.version("no-unmap-under-lock", mutant=True,
                                    models="d00806b18315's truncate without its page_mapped() -> unmap under the page lock")
class TruncateInodePagesRangeNoUnmapUnderLock(TruncateInodePagesRangeV2623):
    """Mutant: a page a fault mapped after the range unmap is removed from the cache still mapped."""

    @_inline26
    def truncate_unmap_page(self, t, mapping: str, pfn: int, index: int):
        return
        yield


@invalidate_inode_pages2_range.version("no-unmap-under-lock", mutant=True,
                                       models="d00806b18315's invalidate without its page_mapped() -> unmap under the page lock")
class InvalidateInodePages2RangeNoUnmapUnderLock(InvalidateInodePages2RangeV2623):
    """Mutant: the second unmap (under the page lock) is gone; BUG_ON(page_mapped(page)) stays."""

    @_inline26
    def invalidate_unmap_page(self, t, mapping: str, pfn: int, page_index: int, end: int, did_range_unmap):
        yield "BUG_ON(page_mapped(page))"
        if self.folio(pfn).mapcount > 0:
            raise _Bug26(f"BUG_ON(page_mapped(page)): page {pfn:#x} is mapped {self.folio(pfn).mapcount} time(s)")

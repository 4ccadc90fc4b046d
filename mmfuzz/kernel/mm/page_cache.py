"""Page-cache (xarray) operations that run under the i_pages lock or RCU, as plain helpers.

Each is one atomic operation inside a step of its caller (find_get_page is one lockless
lookup with a speculative reference; add/delete run under xa_lock), so they are not
methods: the step is labelled by the kernel function that calls them.
"""

from __future__ import annotations

from mmfuzz.kernel.locking import page_lock_name
from mmfuzz.model.memory import Folio


def find_get_page(k, mapping: str, index: int) -> int | None:
    """find_get_page(): RCU lookup + page_cache_get_speculative(); pfn or None."""
    pfn = k.s.files[mapping].pages.get(index)
    if pfn is None or not k.folio_try_get(pfn):
        return None
    return pfn


def add_to_page_cache_lru(k, t, mapping: str, index: int) -> int | None:
    """page_cache_alloc() + add_to_page_cache_lru(): a new locked, !uptodate page, or None (-EEXIST).

    The caller's reference is the one returned; the page cache takes its own.
    """
    space = k.s.files[mapping]
    if index in space.pages:
        return None
    folio = Folio(kind="file", refcount=2, mapping=mapping, index=index)
    pfn = k.s.mem.alloc(folio)
    space.pages[index] = pfn
    t.locks.acquire(page_lock_name(pfn), "excl", t.id)  # __SetPageLocked() on a new page
    t.note(f"new page {pfn:#x} at index {index} (locked, !uptodate)")
    return pfn


def delete_from_page_cache(k, t, mapping: str, pfn: int) -> None:
    """__delete_from_page_cache(): clear the xarray slot, page->mapping = NULL, drop the cache's ref."""
    folio = k.folio(pfn)
    space = k.s.files[mapping]
    if space.pages.get(folio.index) == pfn:
        del space.pages[folio.index]
    folio.mapping = None
    t.note(f"delete_from_page_cache: page {pfn:#x} (index {folio.index}) leaves the cache")
    k.folio_put(pfn)

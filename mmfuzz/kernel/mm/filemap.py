"""mm/filemap.c: page-cache lookups on the fault paths, fault-around, read().

Two eras live here, each as versions of its own code paths:
- 2007 (race A): filemap_nopage() of v2.6.20 and v2.6.23;
- 2020 (race B): filemap_fault() and filemap_map_pages() of v5.9 and v5.15.
"""

from __future__ import annotations

from mmfuzz.engine.versions import code_path  # noqa: F401

# ---- 2007: filemap_nopage (race A) -------------------------------------------------
# Sources: v2.6.20 mm/filemap.c (sagsango/linux-2.6.20@0632daa4e8d0: find_get_page,
# find_lock_page, add_to_page_cache, page_cache_read, filemap_nopage,
# do_generic_mapping_read, generic_file_direct_IO); d00806b18315 as merged (filemap_nopage).
from mmfuzz.engine.task import EXCL as _EXCL, SHARED as _SHARED, Acquire as _Acquire, primitive as _primitive  # noqa: E402
from mmfuzz.engine.violations import Bug as _Bug  # noqa: E402
from mmfuzz.kernel.base import KernelCode as _KernelCode26  # noqa: E402
from mmfuzz.kernel.locking import (  # noqa: E402
    lock_page as _lock_page26, mutex_lock as _mutex_lock, mutex_unlock as _mutex_unlock,
    page_lock_name as _page_lock_name, trylock_page as _trylock_page26, unlock_page as _unlock_page26,
)
from mmfuzz.kernel.mm.memory import END_OF_2007_MODEL, NOPAGE_SIGBUS, VM_OPS as _VM_OPS, VmOperations as _VmOperations  # noqa: E402
from mmfuzz.model.memory import Folio as _Folio  # noqa: E402

EEXIST = "-EEXIST"
EIO = "-EIO"
PAGEVEC_SIZE = 14


@_primitive
def read_lock_irq(t, lock: str):
    yield _Acquire(lock, _SHARED, "read_lock_irq(&mapping->tree_lock)")


@_primitive
def write_lock_irq(t, lock: str):
    yield _Acquire(lock, _EXCL, "write_lock_irq(&mapping->tree_lock)")


def rw_unlock_irq(t, lock: str) -> None:
    t.locks.release(lock, t.id)


find_get_page = code_path(
    "find_get_page", file="mm/filemap.c",
    doc="2.6.x page cache under mapping->tree_lock (rwlock): find_get_page, find_lock_page, "
        "pagevec_lookup, add_to_page_cache_lru, remove_from_page_cache; ->readpage")
filemap_nopage = code_path(
    "filemap_nopage", file="mm/filemap.c",
    doc="generic_file_vm_ops.nopage: filemap_nopage(), page_cache_read(); generic_file_mmap()")
do_generic_mapping_read = code_path(
    "do_generic_mapping_read", file="mm/filemap.c",
    doc="read(): do_generic_mapping_read() finds or reads the page into the cache, copies it out")
generic_file_direct_IO = code_path(
    "generic_file_direct_IO", file="mm/filemap.c",
    doc="O_DIRECT write: generic_file_aio_write() under i_mutex -> generic_file_direct_IO(): unmap, "
        "write back, ->direct_IO, invalidate_inode_pages2_range()")


@find_get_page.version("v2.6.20", since="v2.6.20",
                       models="v2.6.20 mm/filemap.c radix tree under tree_lock; mpage_readpage() as one "
                              "step (IO completion included); unchanged in d00806b18315")
class FindGetPageV2620(_KernelCode26):
    """Lookups take tree_lock for read; insert/delete take it for write; each is one step."""

    def find_get_page(self, t, mapping: str, offset: int):
        space = self.s.files[mapping]
        yield from read_lock_irq(t, space.tree_lock)
        pfn = space.pages.get(offset)
        if pfn is not None:
            self.folio_get(pfn)  # page_cache_get()
        rw_unlock_irq(t, space.tree_lock)
        t.note(f"find_get_page({offset}) = " + (f"{pfn:#x}" if pfn is not None else "NULL"))
        return pfn

    def find_lock_page(self, t, mapping: str, offset: int):
        space = self.s.files[mapping]
        while True:  # repeat:
            yield from read_lock_irq(t, space.tree_lock)
            pfn = space.pages.get(offset)
            if pfn is None:
                rw_unlock_irq(t, space.tree_lock)
                t.note(f"find_lock_page({offset}) = NULL")
                return None
            self.folio_get(pfn)
            if _trylock_page26(t, pfn):  # !TestSetPageLocked(page)
                rw_unlock_irq(t, space.tree_lock)
                t.note(f"find_lock_page({offset}) = {pfn:#x}, locked")
                return pfn
            rw_unlock_irq(t, space.tree_lock)
            yield from _lock_page26(t, pfn)  # __lock_page(): sleeps
            folio = self.folio(pfn)
            # "Has the page been truncated while we slept?" (re-checked under tree_lock)
            if folio.mapping != mapping or folio.index != offset:
                t.note(f"page {pfn:#x} was removed while we slept: repeat")
                _unlock_page26(t, pfn)
                self.page_cache_release(pfn)
                continue
            t.note(f"find_lock_page({offset}) = {pfn:#x}, locked")
            return pfn

    def pagevec_lookup(self, t, mapping: str, start: int, nr: int = PAGEVEC_SIZE):
        """find_get_pages(): up to nr pages from index start on, each with a reference."""
        space = self.s.files[mapping]
        yield from read_lock_irq(t, space.tree_lock)
        found = [space.pages[i] for i in sorted(space.pages) if i >= start][:nr]
        for pfn in found:
            self.folio_get(pfn)
        rw_unlock_irq(t, space.tree_lock)
        t.note(f"pagevec_lookup({start}) = [{', '.join(f'{p:#x}' for p in found)}]")
        return found

    def pagevec_release(self, pvec: list) -> None:
        for pfn in pvec:
            self.page_cache_release(pfn)

    def page_cache_release(self, pfn: int) -> None:
        self.folio_put(pfn)

    def page_cache_alloc_cold(self) -> int:
        """A new page: private to its allocator until it is added to the cache."""
        return self.s.mem.alloc(_Folio(kind="file", refcount=1))

    def add_to_page_cache_lru(self, t, pfn: int, mapping: str, offset: int):
        space = self.s.files[mapping]
        yield from write_lock_irq(t, space.tree_lock)
        if offset in space.pages:
            rw_unlock_irq(t, space.tree_lock)
            t.note(f"index {offset} is cached already: -EEXIST")
            return EEXIST
        folio = self.folio(pfn)
        space.pages[offset] = pfn
        self.folio_get(pfn)  # the page cache's reference
        t.locks.acquire(_page_lock_name(pfn), _EXCL, t.id)  # SetPageLocked() on a new page
        folio.mapping, folio.index = mapping, offset
        rw_unlock_irq(t, space.tree_lock)
        t.note(f"new page {pfn:#x} at index {offset} (locked, !uptodate)")
        return 0

    def remove_from_page_cache(self, t, pfn: int):
        """The caller holds the page lock."""
        folio = self.folio(pfn)
        space = self.s.files[folio.mapping]
        yield from write_lock_irq(t, space.tree_lock)
        self._remove_from_page_cache(t, pfn)
        rw_unlock_irq(t, space.tree_lock)

    def _remove_from_page_cache(self, t, pfn: int) -> None:
        """Caller holds tree_lock for write: radix_tree_delete(), page->mapping = NULL."""
        folio = self.folio(pfn)
        space = self.s.files[folio.mapping]
        del space.pages[folio.index]
        folio.mapping = None
        t.note(f"page {pfn:#x} (index {folio.index}) leaves the page cache: page->mapping = NULL")

    def mpage_readpage(self, t, pfn: int):
        """mapping->a_ops->readpage() on a locked page: read the disk, SetPageUptodate, unlock."""
        yield "mapping->a_ops->readpage(file, page)"
        folio = self.folio(pfn)
        folio.data = self.s.extra["disk"][folio.mapping].get(folio.index, "zeroes")
        folio.flags.add("uptodate")
        _unlock_page26(t, pfn)
        t.note(f"page {pfn:#x} <- disk page {folio.index}: '{folio.data}', uptodate, unlocked")
        return 0


find_get_page.retire(END_OF_2007_MODEL, "the lockless page cache (2.6.27) replaced the tree_lock rwlock")


_VM_OPS["generic_file"] = _VmOperations("generic_file_vm_ops", nopage="filemap_nopage")


@filemap_nopage.version("v2.6.20", since="v2.6.20",
                        racy="returns an unlocked page the invalidator may remove before it is mapped",
                        models="v2.6.20 mm/filemap.c filemap_nopage(): find_get_page(), no page lock on the fast path")
class FilemapNopageV2620(_KernelCode26):
    """i_size check, find_get_page(), PageUptodate: the page comes back referenced but unlocked."""

    def generic_file_mmap(self, vma) -> None:
        """->mmap of a regular file (setup, not a step)."""
        vma.ops = "generic_file"

    def filemap_nopage(self, t, vma, address: int):
        mapping = vma.file
        space = self.s.files[mapping]
        pgoff = address - vma.start + vma.pgoff
        while True:  # retry_all:
            yield "size = i_size_read(inode)"
            size = space.i_size
            t.note(f"i_size = {size}")
            if pgoff >= size:
                return NOPAGE_SIGBUS  # outside_data_content (vm_mm == current->mm)
            page = yield from self.filemap_nopage_find(t, mapping, pgoff)
            yield "PageUptodate(page)"
            folio = self.folio(page)
            if "uptodate" in folio.flags:
                return page  # success: mark_page_accessed()
            # page_not_uptodate:
            yield from _lock_page26(t, page)
            if folio.mapping is None:  # "Did it get unhashed while we waited for it?"
                t.note("page->mapping == NULL: retry_all")
                _unlock_page26(t, page)
                self.page_cache_release(page)
                continue
            if "uptodate" in folio.flags:  # somebody else got it up to date
                _unlock_page26(t, page)
                return page
            yield from self.mpage_readpage(t, page)  # IO never fails in the model
            return page

    def filemap_nopage_find(self, t, mapping: str, pgoff: int):
        """retry_find: until find_get_page() hits; a miss reads the page in (readaround folded in)."""
        while True:
            page = yield from self.find_get_page(t, mapping, pgoff)
            if page is not None:
                return page
            yield from self.page_cache_read(t, mapping, pgoff)

    def page_cache_read(self, t, mapping: str, offset: int):
        page = self.page_cache_alloc_cold()
        ret = yield from self.add_to_page_cache_lru(t, page, mapping, offset)
        if ret == 0:
            ret = yield from self.mpage_readpage(t, page)
        elif ret == EEXIST:
            ret = 0  # losing the race to add is OK
        self.page_cache_release(page)
        return ret


@filemap_nopage.version("v2.6.23", since="v2.6.23", commit="d00806b18315",
                        models="d00806b18315: find_lock_page(), i_size re-checked under the page lock, the page "
                               "returned locked; generic_file_mmap() sets VM_CAN_INVALIDATE")
class FilemapNopageV2623(FilemapNopageV2620):
    """find_lock_page(), then i_size again under the page lock; returns the page locked."""

    def generic_file_mmap(self, vma) -> None:
        vma.ops = "generic_file"
        vma.flags = vma.flags | {"VM_CAN_INVALIDATE"}

    def filemap_nopage(self, t, vma, address: int):
        if "VM_CAN_INVALIDATE" not in vma.flags:
            raise _Bug("BUG_ON(!(area->vm_flags & VM_CAN_INVALIDATE))")
        mapping = vma.file
        space = self.s.files[mapping]
        pgoff = address - vma.start + vma.pgoff
        yield "size = i_size_read(inode)"
        t.note(f"i_size = {space.i_size}")
        if pgoff >= space.i_size:
            return NOPAGE_SIGBUS
        while True:  # retry_find:
            page = yield from self.find_lock_page(t, mapping, pgoff)
            if page is None:
                yield from self.page_cache_read(t, mapping, pgoff)
                continue
            folio = self.folio(page)
            if "uptodate" not in folio.flags:  # page_not_uptodate: only after an IO error
                yield from self.mpage_readpage(t, page)
                self.page_cache_release(page)
                continue
            yield "size = i_size_read(inode)"  # "Must recheck i_size under page lock"
            t.note(f"i_size = {space.i_size}")
            if pgoff >= space.i_size:
                _unlock_page26(t, page)
                return NOPAGE_SIGBUS  # outside_data_content (the patch drops no reference here)
            return page


filemap_nopage.retire(END_OF_2007_MODEL, "filemap_nopage() gave way to filemap_fault()")


@do_generic_mapping_read.version("v2.6.20", since="v2.6.20",
                                 models="v2.6.20 mm/filemap.c do_generic_mapping_read() for one page, no readahead "
                                        "(the 2.6.23 read path is not re-read; it takes no part in the race)")
class DoGenericMappingReadV2620(_KernelCode26):
    """find_get_page() or add a page and ->readpage it, re-check i_size, copy the data out."""

    def do_generic_mapping_read(self, t, mapping: str, index: int):
        """Returns what read() copies to userspace for page `index`, or None at EOF."""
        space = self.s.files[mapping]
        yield "isize = i_size_read(inode)"
        if index > space.i_size - 1:
            return None
        while True:  # find_page:
            page = yield from self.find_get_page(t, mapping, index)
            if page is None:  # no_cached_page:
                page = self.page_cache_alloc_cold()
                if (yield from self.add_to_page_cache_lru(t, page, mapping, index)) == EEXIST:
                    self.page_cache_release(page)
                    continue
                yield from self.mpage_readpage(t, page)  # readpage:
                yield "PageUptodate(page)"
                if "uptodate" not in self.folio(page).flags:
                    yield from _lock_page26(t, page)
                    _unlock_page26(t, page)
                    self.page_cache_release(page)  # invalidate_inode_pages got it
                    continue
                yield "isize = i_size_read(inode)"  # i_size must be checked after ->readpage
                if index > space.i_size - 1:
                    self.page_cache_release(page)
                    return None
            else:
                yield "PageUptodate(page)"
                folio = self.folio(page)
                if "uptodate" not in folio.flags:  # page_not_up_to_date:
                    yield from _lock_page26(t, page)
                    if folio.mapping is None:  # truncated before we got the lock
                        _unlock_page26(t, page)
                        self.page_cache_release(page)
                        continue
                    if "uptodate" not in folio.flags:
                        yield from self.mpage_readpage(t, page)
                    else:
                        _unlock_page26(t, page)
            yield "file_read_actor(desc, page, offset, nr)"  # page_ok:
            data = self.folio(page).data
            t.note(f"read() copies '{data}' from page {page:#x}")
            self.page_cache_release(page)
            return data


do_generic_mapping_read.retire(END_OF_2007_MODEL, "renamed do_generic_file_read() in 2.6.24")


@generic_file_direct_IO.version("v2.6.20", since="v2.6.20",
                                models="v2.6.20 mm/filemap.c generic_file_aio_write() (i_mutex) -> "
                                       "generic_file_direct_IO(WRITE); the same shape in 2.6.23")
class GenericFileDirectIOV2620(_KernelCode26):
    """Unmap the range, write back dirty pages, write the disk, invalidate the cached pages."""

    def generic_file_aio_write(self, t, mapping: str, offset: int, nr: int, data: str):
        """An O_DIRECT write of pages [offset, offset + nr) inside i_size."""
        space = self.s.files[mapping]
        yield from _mutex_lock(t, space.i_mutex)
        ret = yield from self.generic_file_direct_IO(t, mapping, offset, nr, data)
        _mutex_unlock(t, space.i_mutex)
        return ret

    def generic_file_direct_IO(self, t, mapping: str, offset: int, nr: int, data: str):
        space = self.s.files[mapping]
        if space.i_mmap:  # mapping_mapped(): the VMAs never change here
            yield from self.unmap_mapping_range(t, mapping, offset, nr, False)
        retval = yield from self.filemap_write_and_wait(t, mapping)
        if retval == 0:
            yield from self.blkdev_direct_IO(t, mapping, offset, nr, data)
            yield "mapping->nrpages"
            if space.pages:
                retval = yield from self.invalidate_inode_pages2_range(t, mapping, offset, offset + nr - 1)
        return retval

    def filemap_write_and_wait(self, t, mapping: str):
        """write_cache_pages() + wait: each dirty page is locked, cleaned and written (IO included)."""
        space = self.s.files[mapping]
        yield "mapping->nrpages"
        if not space.pages:
            return 0
        pvec = yield from self.pagevec_lookup(t, mapping, 0)  # pagevec_lookup_tag(DIRTY)
        for pfn in pvec:
            folio = self.folio(pfn)
            if "dirty" not in folio.flags:
                continue
            yield from _lock_page26(t, pfn)
            if folio.mapping == mapping and "dirty" in folio.flags:  # clear_page_dirty_for_io()
                folio.flags.discard("dirty")
                self.s.extra["disk"][mapping][folio.index] = folio.data  # ->writepage, end_io
                t.note(f"writepage: disk page {folio.index} <- '{folio.data}'")
            _unlock_page26(t, pfn)
        self.pagevec_release(pvec)
        return 0

    def blkdev_direct_IO(self, t, mapping: str, offset: int, nr: int, data: str):
        """mapping->a_ops->direct_IO(WRITE): the data goes to the disk, around the page cache."""
        yield "mapping->a_ops->direct_IO(WRITE, ...)"
        for idx in range(offset, offset + nr):
            self.s.extra["disk"][mapping][idx] = data
        t.note(f"disk pages {offset}..{offset + nr - 1} <- '{data}'")


generic_file_direct_IO.retire(END_OF_2007_MODEL, "not modelled after the 2007 race")


# ---- 2020: filemap_fault, filemap_map_pages, read, readahead (race B) ---------------
# (imports for this section are local to it: the 2007 section has its own)
from mmfuzz.engine.task import inline as _inline  # noqa: E402
from mmfuzz.kernel.base import KernelCode as _KernelCode  # noqa: E402
from mmfuzz.kernel.locking import (  # noqa: E402
    PageLocked as _PageLocked, down_read as _down_read, lock_page as _lock_page,
    trylock_page as _trylock_page, unlock_page as _unlock_page, up_read as _up_read,
    wait_on_page_locked as _wait_on_page_locked,
)
from mmfuzz.kernel.mm import page_cache as _pc  # noqa: E402
from mmfuzz.kernel.mm.huge_memory import VM_FAULT_SIGBUS as _SIGBUS  # noqa: E402
from mmfuzz.kernel.mm.memory import VM_FAULT_LOCKED as _LOCKED  # noqa: E402

filemap_fault = code_path(
    "filemap_fault", file="mm/filemap.c",
    doc="filemap_fault(): find or create the page, lock it, read it if !uptodate, re-check mapping and i_size")
filemap_map_pages = code_path(
    "filemap_map_pages", file="mm/filemap.c",
    doc="filemap_map_pages(): fault-around maps uptodate cached pages it can trylock; never creates pages")
filemap_read = code_path(
    "filemap_read", file="mm/filemap.c",
    doc="buffered read(): generic_file_buffered_read() (v5.8) / filemap_read() (v5.12+)")


def _pagecache_get_page_mmap(k, t, mapping: str, index: int) -> int:
    """pagecache_get_page(FGP_CREAT|FGP_FOR_MMAP): find, else add a new page; returned unlocked."""
    pfn = _pc.find_get_page(k, mapping, index)
    if pfn is None:
        pfn = _pc.add_to_page_cache_lru(k, t, mapping, index)
        _unlock_page(t, pfn)  # "for mmap we expect an unlocked page"
    else:
        t.note(f"found page {pfn:#x}")
    return pfn


@filemap_fault.version("v5.8", since="v5.8",
                       models="v5.8..v5.14 mm/filemap.c filemap_fault(), no fs lock of its own; VM_RAND_READ "
                              "(no fault readahead); no FAULT_FLAG_ALLOW_RETRY (mmap_lock is kept)")
class FilemapFaultV58(_KernelCode):
    """A miss inserts a new !uptodate page and ->readpage reads the *current* block map into it."""

    def filemap_fault(self, t, vmf):
        mapping = vmf.vma.file
        space = self.s.files[mapping]
        offset = vmf.pgoff
        yield "max_off = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE)"
        if offset >= space.i_size:
            return _SIGBUS
        yield "page = find_get_page(mapping, offset)"
        pfn = _pc.find_get_page(self, mapping, offset)
        t.note(f"page = {pfn:#x}" if pfn is not None else "page = NULL: PGMAJFAULT (VM_RAND_READ: no readahead)")
        while True:
            if pfn is None:  # retry_find:
                yield "page = pagecache_get_page(mapping, offset, FGP_CREAT|FGP_FOR_MMAP)"
                pfn = _pagecache_get_page_mmap(self, t, mapping, offset)
            yield from _lock_page(t, pfn)  # lock_page_maybe_drop_mmap()
            folio = self.folio(pfn)
            if folio.mapping != mapping:  # did it get truncated?
                t.note(f"page {pfn:#x} was truncated: retry_find")
                _unlock_page(t, pfn)
                self.folio_put(pfn)
                pfn = None
                continue
            if "uptodate" not in folio.flags:  # page_not_uptodate:
                yield from self.a_ops_readpage(t, mapping, pfn)
                yield from _wait_on_page_locked(t, pfn)
                self.folio_put(pfn)
                pfn = None
                continue  # goto retry_find
            if self.filemap_fault_beyond_eof(t, space, offset):  # must recheck i_size under page lock
                _unlock_page(t, pfn)
                self.folio_put(pfn)
                return _SIGBUS
            vmf.page = pfn
            return _LOCKED

    def filemap_fault_beyond_eof(self, t, space, offset: int) -> bool:
        """The page is locked: truncate cannot have passed it, so a page still inside
        i_size now stays inside until the fault has mapped it."""
        if offset >= space.i_size:
            t.note(f"index {offset} >= i_size {space.i_size} under the page lock: SIGBUS")
            return True
        return False


@filemap_fault.version("mutant-no-isize-recheck",
                       models="Mutant: v5.8 filemap_fault() without the i_size re-check under the page lock")
class FilemapFaultNoIsizeRecheck(FilemapFaultV58):
    """Mutant: a fault that passed the first i_size check maps whatever page it then finds or creates."""

    def filemap_fault_beyond_eof(self, t, space, offset: int) -> bool:
        return False


@filemap_fault.version("v5.15", since="v5.15", commit="730633f0b7f9",
                       models="730633f0b7f9 'mm: Protect operations adding pages to page cache with invalidate_lock' (v5.15), "
                              "as merged: invalidate_lock dropped before the i_size re-check under the page lock")
class FilemapFaultV515(FilemapFaultV58):
    """invalidate_lock (shared) before creating a page or reading one in; not for an uptodate hit."""

    def filemap_fault(self, t, vmf):
        mapping = vmf.vma.file
        space = self.s.files[mapping]
        offset = vmf.pgoff
        mapping_locked = False
        yield "max_off = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE)"
        if offset >= space.i_size:
            return _SIGBUS
        yield "page = find_get_page(mapping, offset)"
        pfn = _pc.find_get_page(self, mapping, offset)
        t.note(f"page = {pfn:#x}" if pfn is not None else "page = NULL: PGMAJFAULT (VM_RAND_READ: no readahead)")
        if pfn is not None and "uptodate" not in self.folio(pfn).flags:
            yield from _down_read(t, space.invalidate_lock)  # filemap_invalidate_lock_shared()
            mapping_locked = True
        while True:
            if pfn is None:  # retry_find:
                if not mapping_locked:
                    yield from _down_read(t, space.invalidate_lock)
                    mapping_locked = True
                yield "page = pagecache_get_page(mapping, offset, FGP_CREAT|FGP_FOR_MMAP)"
                pfn = _pagecache_get_page_mmap(self, t, mapping, offset)
            yield from _lock_page(t, pfn)
            folio = self.folio(pfn)
            if folio.mapping != mapping:
                t.note(f"page {pfn:#x} was truncated: retry_find")
                _unlock_page(t, pfn)
                self.folio_put(pfn)
                pfn = None
                continue
            if "uptodate" not in folio.flags:
                if not mapping_locked:  # was uptodate, now is not: retry under invalidate_lock
                    _unlock_page(t, pfn)
                    self.folio_put(pfn)
                    pfn = None
                    continue
                yield from self.a_ops_readpage(t, mapping, pfn)  # page_not_uptodate:
                yield from _wait_on_page_locked(t, pfn)
                self.folio_put(pfn)
                pfn = None
                continue
            if mapping_locked:  # dropped before the re-check, as the kernel does
                _up_read(t, space.invalidate_lock)
                mapping_locked = False
            if self.filemap_fault_beyond_eof(t, space, offset):  # must recheck i_size under page lock
                _unlock_page(t, pfn)
                self.folio_put(pfn)
                return _SIGBUS
            vmf.page = pfn
            return _LOCKED


@filemap_fault.version("mutant-v5.15-no-isize-recheck",
                       models="Mutant: v5.15 filemap_fault() without the i_size re-check under the page lock")
class FilemapFaultV515NoIsizeRecheck(FilemapFaultV515):
    """Mutant: a fault that passed the first i_size check maps the page it created after a truncate."""

    def filemap_fault_beyond_eof(self, t, space, offset: int) -> bool:
        return False


@filemap_map_pages.version("v5.8", since="v5.8",
                           models="v5.8..v5.11 filemap_map_pages() (read ~v5.10 and v5.4-v5.8 copies); v5.12 moved the "
                                  "checks into next_uptodate_page() and the PTL before the loop, same order per page")
class FilemapMapPagesV58(_KernelCode):
    """PageLocked pre-check, speculative ref, reload, uptodate; trylock; mapping, uptodate, i_size under the lock."""

    def filemap_map_pages(self, t, vmf, start_pgoff: int, end_pgoff: int):
        mapping = vmf.vma.file
        space = self.s.files[mapping]
        last_pgoff = start_pgoff
        index = start_pgoff
        # rcu_read_lock(); xas_for_each(&xas, head, end_pgoff)
        while index <= end_pgoff:
            yield "head = xas_find(&xas, end_pgoff); if (PageLocked(head))"
            found = sorted(i for i in space.pages if index <= i <= end_pgoff)
            if not found:
                t.note(f"no page in [{index}, {end_pgoff}]")
                break
            index = found[0]
            pfn = space.pages[index]
            if _PageLocked(self.s, pfn):
                t.note(f"page {pfn:#x} (index {index}) is locked: skip")
                index += 1
                continue
            yield "page_cache_get_speculative(head)"
            if not self.folio_try_get(pfn):
                t.note(f"page {pfn:#x}: refcount 0, skip")
                index += 1
                continue
            yield "head != xas_reload(&xas) || !PageUptodate(head)"
            folio = self.folio(pfn)
            if space.pages.get(index) != pfn or "uptodate" not in folio.flags:
                t.note(f"page {pfn:#x} moved or !uptodate: skip")
                self.folio_put(pfn)
                index += 1
                continue
            yield "trylock_page(head)"
            if not _trylock_page(t, pfn):
                t.note(f"trylock_page({pfn:#x}) fails: skip")
                self.folio_put(pfn)
                index += 1
                continue
            # under the page lock: mapping, uptodate and i_size (B.1.7, B.1.8)
            if folio.mapping != mapping or "uptodate" not in folio.flags or self.map_pages_beyond_eof(space, index):
                t.note(f"page {pfn:#x}: mapping {folio.mapping} / !uptodate / beyond EOF: skip")
                _unlock_page(t, pfn)
                self.folio_put(pfn)
                index += 1
                continue
            t.note(f"page {pfn:#x} locked: mapping ok, uptodate, index {index} < i_size {space.i_size}")
            vmf.address += index - last_pgoff
            if vmf.pte is not None:
                vmf.pte = type(vmf.pte)(vmf.pte.pfn, vmf.pte.idx + index - last_pgoff, "pte")
            last_pgoff = index
            ret = yield from self.alloc_set_pte(t, vmf, pfn)
            _unlock_page(t, pfn)
            if ret:
                self.folio_put(pfn)
            index += 1

    def map_pages_beyond_eof(self, space, index: int) -> bool:
        """max_idx = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE); if (index >= max_idx) goto unlock;"""
        return index >= space.i_size


@filemap_map_pages.version("mutant-no-isize-check",
                           models="Mutant: v5.8 filemap_map_pages() without the max_idx (i_size) check under the page lock")
class FilemapMapPagesNoIsizeCheck(FilemapMapPagesV58):
    """Mutant: fault-around maps a cached page beyond EOF that it trylocked."""

    def map_pages_beyond_eof(self, space, index: int) -> bool:
        return False


@filemap_read.version("v5.8", since="v5.8",
                      models="v5.8..v5.11 generic_file_buffered_read(): a miss does sync readahead "
                             "(FMODE_RANDOM: force_page_cache_readahead), then no_cached_page: add + ->readpage")
class FilemapReadV58(_KernelCode):
    """read() of one page: find, else readahead, else create; read in without any fs lock."""

    def generic_file_read_iter(self, t, mapping: str, index: int):
        return self.generic_file_buffered_read(t, mapping, index)

    def generic_file_buffered_read(self, t, mapping: str, index: int):
        while True:  # find_page:
            yield "page = find_get_page(mapping, index)"
            pfn = _pc.find_get_page(self, mapping, index)
            if pfn is None:
                yield from self.page_cache_sync_readahead(t, mapping, index, 1)
                yield "page = find_get_page(mapping, index)"
                pfn = _pc.find_get_page(self, mapping, index)
            if pfn is None:  # no_cached_page:
                yield "add_to_page_cache_lru(page, mapping, index)"
                pfn = _pc.add_to_page_cache_lru(self, t, mapping, index)
                if pfn is None:
                    continue  # -EEXIST: goto find_page
                yield from self.a_ops_readpage(t, mapping, pfn)  # readpage:
            elif "uptodate" not in self.folio(pfn).flags:  # page_not_up_to_date:
                yield from _wait_on_page_locked(t, pfn)
                if "uptodate" not in self.folio(pfn).flags:
                    yield from _lock_page(t, pfn)
                    folio = self.folio(pfn)
                    if folio.mapping is None:  # truncated: goto find_page
                        _unlock_page(t, pfn)
                        self.folio_put(pfn)
                        continue
                    if "uptodate" in folio.flags:
                        _unlock_page(t, pfn)
                    else:
                        yield from self.a_ops_readpage(t, mapping, pfn)
            # page_ok: "i_size must be checked after we know the page is Uptodate" (same step)
            yield "copy_page_to_iter(page, offset, nr, iter)"
            if index >= self.s.files[mapping].i_size:
                t.note(f"index {index} >= i_size {self.s.files[mapping].i_size}: EOF, nothing copied")
                self.folio_put(pfn)
                return None
            data = self.folio(pfn).data
            t.note(f"read() copies {data} from page {pfn:#x}")
            self.folio_put(pfn)
            return data


@filemap_read.version("v5.15", since="v5.15", commit="730633f0b7f9",
                      models="v5.15 filemap_read() -> filemap_get_pages(): filemap_create_page() and "
                             "filemap_update_page() under invalidate_lock (730633f0b7f9)")
class FilemapReadV515(_KernelCode):
    """read() creates or reads in a page only under invalidate_lock (shared)."""

    def generic_file_read_iter(self, t, mapping: str, index: int):
        return self.filemap_read(t, mapping, index)

    def filemap_read(self, t, mapping: str, index: int):
        while True:
            if (yield from self.filemap_read_at_eof(t, mapping, index)):
                return None
            pfn = yield from self.filemap_get_pages(t, mapping, index)
            if pfn is None:
                continue  # AOP_TRUNCATED_PAGE / -EEXIST: try again
            yield "copy_page_to_iter(page, offset, nr, iter)"
            if index >= self.s.files[mapping].i_size:  # isize = i_size_read(inode), in the same step
                t.note(f"index {index} >= i_size {self.s.files[mapping].i_size}: EOF, nothing copied")
                self.folio_put(pfn)
                return None
            data = self.folio(pfn).data
            t.note(f"read() copies {data} from page {pfn:#x}")
            self.folio_put(pfn)
            return data

    @_inline
    def filemap_read_at_eof(self, t, mapping: str, index: int):
        """No i_size check before filemap_get_pages(): a read at or past EOF creates and
        reads a page there, and leaves it in the cache (8c8387ee3f55's changelog)."""
        return False
        yield

    def filemap_get_pages(self, t, mapping: str, index: int):
        yield "filemap_get_read_batch(mapping, index, last_index, pvec)"
        pfn = _pc.find_get_page(self, mapping, index)
        if pfn is None:
            yield from self.page_cache_sync_readahead(t, mapping, index, 1)
            yield "filemap_get_read_batch(mapping, index, last_index, pvec)"
            pfn = _pc.find_get_page(self, mapping, index)
        if pfn is None:
            return (yield from self.filemap_create_page(t, mapping, index))
        if "uptodate" not in self.folio(pfn).flags:
            return (yield from self.filemap_update_page(t, mapping, pfn))
        return pfn

    def filemap_create_page(self, t, mapping: str, index: int):
        space = self.s.files[mapping]
        yield from _down_read(t, space.invalidate_lock)
        yield "add_to_page_cache_lru(page, mapping, index)"
        pfn = _pc.add_to_page_cache_lru(self, t, mapping, index)
        if pfn is None:
            _up_read(t, space.invalidate_lock)
            return None
        yield from self.filemap_read_page(t, mapping, pfn)
        _up_read(t, space.invalidate_lock)
        return pfn

    def filemap_update_page(self, t, mapping: str, pfn: int):
        space = self.s.files[mapping]
        yield from _down_read(t, space.invalidate_lock)
        yield "trylock_page(page)"
        if not _trylock_page(t, pfn):  # put_and_wait_on_page_locked(): AOP_TRUNCATED_PAGE
            _up_read(t, space.invalidate_lock)
            yield from _wait_on_page_locked(t, pfn)
            self.folio_put(pfn)
            return None
        folio = self.folio(pfn)
        if folio.mapping is None:
            _unlock_page(t, pfn)
            _up_read(t, space.invalidate_lock)
            self.folio_put(pfn)
            return None
        if "uptodate" in folio.flags:
            _unlock_page(t, pfn)
        else:
            yield from self.filemap_read_page(t, mapping, pfn)
        _up_read(t, space.invalidate_lock)
        return pfn

    def filemap_read_page(self, t, mapping: str, pfn: int):
        yield from self.a_ops_readpage(t, mapping, pfn)
        yield from _wait_on_page_locked(t, pfn)  # wait_on_page_locked_killable()


@filemap_read.version("v5.16", since="v5.16", commit="8c8387ee3f55",
                      models="8c8387ee3f55 'mm: stop filemap_read() from grabbing a superfluous page' (David Howells, "
                             "v5.16-rc1)")
class FilemapReadV516(FilemapReadV515):
    """filemap_read() stops at EOF before it looks up or creates a page."""

    def filemap_read_at_eof(self, t, mapping: str, index: int):
        yield "if (unlikely(iocb->ki_pos >= i_size_read(inode))) break"
        if index >= self.s.files[mapping].i_size:
            t.note(f"index {index} >= i_size {self.s.files[mapping].i_size}: EOF, no page looked up")
            return True
        return False

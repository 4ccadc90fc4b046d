"""mm/shmem.c (2007): tmpfs faults and hole punch (race A's fault-vs-punch).

Sources: v2.6.20 mm/shmem.c (sagsango/linux-2.6.20@0632daa4e8d0: shmem_getpage,
shmem_nopage, shmem_truncate_range); 2.6.23.17 mm/shmem.c
(zheharry/linux-sh4-2.6.23.17_stm23_A18B@883c445f97b8); Hugh Dickins, "[PATCH 3/4]
holepunch: fix disconnected pages after second truncate" (28 Mar 2007); d00806b18315.

The model has no swap: a page not in the cache is a hole, and shmem_getpage() fills it
with a new zeroed page. Every page the scenario starts with was added by shmem_getpage(),
so SHMEM_PAGEIN is set, and a hole punch never clears it (only a size-changing setattr
does): shmem_truncate_range()'s second truncate always runs while pages remain.
"""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.engine.violations import Bug
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import unlock_page
from mmfuzz.kernel.mm.filemap import EEXIST
from mmfuzz.kernel.mm.memory import END_OF_2007_MODEL, NOPAGE_SIGBUS, VM_OPS, VmOperations

shmem = code_path(
    "shmem", file="mm/shmem.c",
    doc="tmpfs: shmem_mmap(), shmem_nopage() -> shmem_getpage(), ->truncate_range = shmem_truncate_range()")

ZEROES = "zeroes"


VM_OPS["shmem"] = VmOperations("shmem_vm_ops", nopage="shmem_nopage")


@shmem.version("v2.6.20", since="v2.6.20",
               racy="shmem_getpage() unlocks the page before do_no_page() maps it; a hole punch inside "
                    "i_size leaves the seqlock nothing to see",
               models="v2.6.20 mm/shmem.c: shmem_nopage() -> shmem_getpage(SGP_CACHE), which returns the page "
                      "unlocked; shmem_truncate_range()'s second truncate_inode_pages_range() (SHMEM_PAGEIN)")
class ShmemV2620(KernelCode):
    """find_lock_page() or a new zeroed page; unlocked again before ->nopage returns it."""

    SGP = "SGP_CACHE"

    def shmem_mmap(self, vma) -> None:
        """->mmap of a tmpfs file (setup, not a step)."""
        vma.ops = "shmem"

    def shmem_nopage(self, t, vma, address: int):
        space = self.s.files[vma.file]
        idx = address - vma.start + vma.pgoff
        yield "if (idx << PAGE_CACHE_SHIFT >= i_size_read(inode))"
        t.note(f"i_size = {space.i_size}")
        if idx >= space.i_size:
            return NOPAGE_SIGBUS
        page = yield from self.shmem_getpage(t, vma.file, idx, self.SGP)
        return page  # mark_page_accessed()

    def shmem_getpage(self, t, mapping: str, idx: int, sgp: str):
        """SGP_CACHE/SGP_NOPAGE: the page at idx with a reference; no swap in the model."""
        while True:  # repeat:
            filepage = yield from self.find_lock_page(t, mapping, idx)
            if filepage is not None:
                if "uptodate" in self.folio(filepage).flags:
                    break  # goto done
                raise NotImplementedError("a !uptodate shmem page (swap-in) is not modelled")
            # shmem_swp_alloc(): no swap entry; shmem_alloc_page() (zeroed), added under info->lock
            filepage = self.page_cache_alloc_cold()
            if (yield from self.add_to_page_cache_lru(t, filepage, mapping, idx)) == EEXIST:
                self.page_cache_release(filepage)
                continue  # goto repeat
            yield "flush_dcache_page(filepage); SetPageUptodate(filepage)"  # info->flags |= SHMEM_PAGEIN
            folio = self.folio(filepage)
            folio.data = ZEROES
            folio.flags.add("uptodate")
            t.note(f"new page {filepage:#x} at index {idx}: zeroed, uptodate")
            break
        # done:
        if sgp != "SGP_NOPAGE":
            unlock_page(t, filepage)
        return filepage

    def shmem_truncate_range(self, t, mapping: str, start: int, end: int):
        """->truncate_range(inode, start, end) of a hole punch: free swap entries (none here),
        then truncate_inode_pages_range() again for pages instantiated meanwhile."""
        space = self.s.files[mapping]
        yield "if (inode->i_mapping->nrpages && (info->flags & SHMEM_PAGEIN))"  # done2:
        if space.pages:
            yield from self.truncate_inode_pages_range(t, mapping, start, end)
            yield from self.shmem_punch_unmap(t, mapping, start, end)

    def shmem_punch_unmap(self, t, mapping: str, start: int, end: int):
        return
        yield


@shmem.version("v2.6.21", since="v2.6.21",
               models="Hugh Dickins, 'holepunch: fix disconnected pages after second truncate' (posted 28 Mar 2007 "
                      "for 2.6.21, dated by that: no 2.6.21 tree was read; present in 2.6.23.17): "
                      "unmap_mapping_range() after shmem_truncate_range()'s second truncate_inode_pages_range()")
class ShmemV2621(ShmemV2620):
    """The second truncate is followed by an unmap of the hole (even_cows=1)."""

    def shmem_punch_unmap(self, t, mapping: str, start: int, end: int):
        # if (punch_hole) unmap_mapping_range(inode->i_mapping, start, end - start, 1)
        yield from self.unmap_mapping_range(t, mapping, start, end - start + 1, True)


@shmem.version("v2.6.23", since="v2.6.23", commit="d00806b18315",
               models="d00806b18315: shmem_nopage() -> shmem_getpage(SGP_NOPAGE) returns the page locked; "
                      "shmem_mmap() sets VM_CAN_INVALIDATE (v2.6.23 reaches it through shmem_fault(), SGP_FAULT)")
class ShmemV2623(ShmemV2621):
    """The page stays locked from find_lock_page() (or add_to_page_cache) until do_no_page() maps it."""

    SGP = "SGP_NOPAGE"

    def shmem_mmap(self, vma) -> None:
        vma.ops = "shmem"
        vma.flags = vma.flags | {"VM_CAN_INVALIDATE"}

    def shmem_nopage(self, t, vma, address: int):
        if "VM_CAN_INVALIDATE" not in vma.flags:
            raise Bug("BUG_ON(!(vma->vm_flags & VM_CAN_INVALIDATE))")
        return (yield from ShmemV2620.shmem_nopage(self, t, vma, address))


shmem.retire(END_OF_2007_MODEL, "not modelled after the 2007 race")

"""2020: hole punch and truncate vs page-cache fills (fault, fault-around, read, readahead).

A file of two pages, each on its own disk block, is mapped shared (MADV_RANDOM) by one
process. The punch frees both pages' blocks (FALLOC_FL_PUNCH_HOLE|KEEP_SIZE); the disk
is full, so another file's write reuses a freed block as soon as it is free.

Two scenarios:
- ``punch-vs-fault-around``: Dave Chinner's trace in the seed thread: can fault-around
  (filemap_map_pages) leave a PTE to a page the punch removed?
- ``punch-vs-fill``: Jan Kara's race (730633f0b7f9): can a fault, read() or readahead
  instantiate a page between the truncate and the freeing of the blocks, so that the
  hole keeps stale data of a freed (reused) block?
- ``truncate-vs-fault-around``: truncate(2) to one page (do_truncate() -> ->setattr:
  i_size first, then truncate_pagecache()'s two unmaps around truncate_inode_pages(),
  then the blocks) vs fault-around, ->fault and read(), on each filesystem: ext2's
  setsize (generic), ext4_setattr() under i_mmap_sem / invalidate_lock, xfs_vn_setattr()
  under IOLOCK and MMAPLOCK. A page beyond the new EOF can stay in the cache (a read()
  past EOF, a fault that SIGBUSes under the page lock leave one, as the kernel does);
  the i_size checks under the page lock are what keep it unmapped.
"""

from __future__ import annotations


from mmfuzz.engine.scenario import Actor, Scenario, scenario
from mmfuzz.engine.task import WaitFor
from mmfuzz.engine.violations import InvariantBroken
from mmfuzz.kernel.locking import down_read, up_read
from mmfuzz.kernel.mm.memory import FileVmf
from mmfuzz.model.fs import ZEROS, Block, BlockData, FsState, Inode, block_state
from mmfuzz.model.memory import Folio
from mmfuzz.model.mm import Vma, new_mm, put, slot, translate
from mmfuzz.model.pagecache import AddressSpace
from mmfuzz.model.pgtable import mk_leaf
from mmfuzz.model.state import State

# import for registration of the code paths these scenarios run
import mmfuzz.kernel.fs.ext4.inode  # noqa: F401,E402
import mmfuzz.kernel.fs.genericfs  # noqa: F401,E402
import mmfuzz.kernel.fs.open  # noqa: F401,E402
import mmfuzz.kernel.fs.readpage  # noqa: F401,E402
import mmfuzz.kernel.fs.xfs.xfs_bmap_util  # noqa: F401,E402
import mmfuzz.kernel.fs.xfs.xfs_file  # noqa: F401,E402
import mmfuzz.kernel.fs.xfs.xfs_iops  # noqa: F401,E402
import mmfuzz.kernel.mm.filemap  # noqa: F401,E402
import mmfuzz.kernel.mm.pgtable_generic  # noqa: F401,E402
import mmfuzz.kernel.mm.readahead  # noqa: F401,E402
import mmfuzz.kernel.mm.truncate  # noqa: F401,E402

FILE = "f"  # the file being punched
OTHER = "g"  # another file, whose write reuses a freed block
NPAGES = 2
PUNCH = (0, NPAGES)  # pages [0, 2)
VMA = "f_map"
VMA_START = 0x40  # page number; PMD-aligned, so fault-around covers the whole VMA


def _fs(s) -> str:
    return s.extra["fs_type"]


def punch_hole(k, t, s):
    """fallocate(fd, FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE, 0, 2 pages)."""
    def vfs_fallocate():
        if _fs(s) == "xfs":
            yield from k.xfs_file_fallocate(t, FILE, *PUNCH)
        elif _fs(s) == "ext4":
            yield from k.ext4_punch_hole(t, FILE, *PUNCH)
        else:
            yield from k.genericfs_fallocate(t, FILE, *PUNCH)
        s.extra["punch_returned"] = True  # part of the punch's last step
    return vfs_fallocate()


def read_fault(k, t, s):
    """A read of the mapping at page fault_index: do_user_addr_fault() -> do_read_fault()."""
    def do_user_addr_fault():
        vma = s.mm.find_vma(VMA)
        addr = vma.start + s.extra["params"]["fault_index"]
        yield from down_read(t, s.mm.mmap_lock)
        t.seen["after_punch"] = s.extra["punch_returned"]
        t.seen["addr"] = addr
        # handle_mm_fault() -> handle_pte_fault(): the PTE is none, the VMA is a file: do_read_fault()
        vmf = FileVmf(vma, addr, vma.pgoff + (addr - vma.start), slot(s.mem, s.mm, addr, "pmd"))
        yield from k.do_read_fault(t, vmf)
        up_read(t, s.mm.mmap_lock)
    return do_user_addr_fault()


def buffered_read(k, t, s):
    """read(fd, buf, PAGE_SIZE) at page read_index."""
    def ksys_read():
        index = s.extra["params"]["read_index"]
        yield "fdget_pos(fd); vfs_read()"
        t.seen["after_punch"] = s.extra["punch_returned"]
        if _fs(s) == "xfs":
            data = yield from k.xfs_file_read_iter(t, FILE, index)
        elif _fs(s) == "ext4":
            data = yield from k.ext4_file_read_iter(t, FILE, index)
        else:
            data = yield from k.generic_file_read_iter(t, FILE, index)
        t.seen["read"] = (index, data)
    return ksys_read()


def fadvise_willneed(k, t, s):
    """fadvise(fd, 0, 2 pages, POSIX_FADV_WILLNEED) (readahead(2) does the same)."""
    def ksys_fadvise64_64():
        yield "fdget(fd); vfs_fadvise()"
        if _fs(s) == "xfs":
            yield from k.xfs_file_fadvise(t, FILE, 0, NPAGES)
        else:
            yield from k.generic_fadvise(t, FILE, 0, NPAGES)
    return ksys_fadvise64_64()


def write_other_file(k, t, s):
    """Another file is written and synced: the allocator hands it the first free block."""
    def write_and_fsync():
        fs = s.extra["fs"]
        yield WaitFor(lambda st_: bool(st_.extra["fs"].free), "a free block", "allocate a block for g, write g's data")
        b = fs.alloc_block(OTHER)
        fs.writes += 1
        fs.blocks[b].contents = f"{OTHER}/0 w{fs.writes}"
        fs.inodes[OTHER].bmap[0] = b
        t.note(f"block {b} -> {OTHER} index 0, now holds '{fs.blocks[b].contents}'")
    return write_and_fsync()


class PunchHoleBase(Scenario):
    paths: tuple[str, ...] = ("do_read_fault", "filemap_fault", "filemap_map_pages", "filemap_read", "page_cache_ra_unbounded",
             "readpage", "truncate_inode_pages_range", "unmap_mapping_range", "zap_page_range",
             "pte_offset_map_lock", "xfs_file", "xfs_free_file_space", "genericfs", "ext4")
    # xfs and ext4 as they are; generic: a filesystem whose fill paths (fault, read,
    # readahead) take no lock the punch holds, as ceph and cifs before v5.15
    options = {"fs": ("xfs", "generic", "ext4")}

    def initial_state(self, k, params):
        s = State()
        s.extra["fs_type"] = self.opts["fs"]
        s.extra["params"] = dict(params)
        s.extra["punch_returned"] = False
        fs = FsState()
        inode = Inode(FILE)
        for i in range(NPAGES):
            fs.blocks[i] = Block(FILE, f"{FILE}/{i} w1")
            inode.bmap[i] = i
        fs.inodes = {FILE: inode, OTHER: Inode(OTHER)}
        s.extra["fs"] = fs
        mm = new_mm(s.mem)
        s.mms.append(mm)
        vma = Vma(VMA, VMA_START, VMA_START + NPAGES, pgoff=0, file=FILE, ops=self.opts["fs"],
                  flags=frozenset({"VM_READ", "VM_SHARED", "VM_MAYSHARE", "VM_RAND_READ"}))
        mm.vmas.append(vma)
        space = AddressSpace(FILE, i_size=NPAGES, i_mmap=[(0, VMA)])
        s.files[FILE] = space
        slot(s.mem, mm, VMA_START, "pte", create=True)  # the PTE table exists
        for i in range(NPAGES):
            if not params.get("cached", True):
                continue
            folio = Folio(kind="file", refcount=1, mapping=FILE, index=i, flags={"uptodate"},
                          data=BlockData(i, fs.blocks[i].contents))
            pfn = s.mem.alloc(folio)
            space.pages[i] = pfn
            if params.get("prefaulted"):
                put(s.mem, slot(s.mem, mm, VMA_START + i, "pte"), mk_leaf(pfn))
                folio.mapcount += 1
                folio.refcount += 1
        return s

    # -- invariants ---------------------------------------------------------------------
    def invariants(self, run):
        s = run.state
        vma = s.mm.find_vma(VMA)
        for addr in range(vma.start, vma.end):
            hit = translate(s.mem, s.mm, addr)
            if hit is None:
                continue
            folio = s.mem.frames.get(hit[1].pfn)
            if not isinstance(folio, Folio):
                continue
            if folio.freed:
                raise InvariantBroken("no-stale-pte", f"the PTE of page {addr:#x} maps pfn {hit[1].pfn:#x}, a freed page")
            if s.extra["punch_returned"] and folio.mapping != FILE:
                raise InvariantBroken(
                    "no-stale-pte",
                    f"the punch has returned, and the PTE of page {addr:#x} still maps pfn {hit[1].pfn:#x}, "
                    f"which the punch deleted from the page cache (page->mapping == NULL): released by the "
                    f"filesystem, kept only by this PTE's reference; it shows {folio.data}, and "
                    f"{self._block_fate(s, folio.data)}")
        if s.extra["punch_returned"]:
            space = s.files[FILE]
            for index in range(*PUNCH):
                pfn = space.pages.get(index)
                if pfn is None:
                    continue
                folio = s.mem.frames[pfn]
                if "uptodate" in folio.flags and folio.data != ZEROS:
                    raise InvariantBroken(
                        "no-stale-data",
                        f"the punch has returned, and page {index} of {FILE} (pfn {pfn:#x}) in the hole holds "
                        f"{folio.data}: {self._block_fate(s, folio.data)}")

    def _block_fate(self, s, data) -> str:
        if isinstance(data, BlockData):
            return block_state(s.extra["fs"], data.block)
        return "zeros"

    def on_finish(self, run, task):
        seen = task.seen
        if not seen.get("after_punch"):
            return
        s = run.state
        if task.kind == "read":
            index, data = seen["read"]
            if data != ZEROS:
                raise InvariantBroken("hole-reads-zero",
                                      f"{task.title} began after the punch returned and read {data} from the hole "
                                      f"at page {index}: {self._block_fate(s, data)}")
        if task.kind == "fault":
            hit = translate(s.mem, s.mm, seen["addr"])
            if hit is not None:
                data = s.mem.frames[hit[1].pfn].data
                if data != ZEROS:
                    raise InvariantBroken("hole-reads-zero",
                                          f"{task.title} began after the punch returned and maps {data} in the hole "
                                          f"at {seen['addr']:#x}: {self._block_fate(s, data)}")

    def describe(self, run):
        s = run.state
        fs = s.extra["fs"]
        space = s.files[FILE]
        cache = ", ".join(f"{i}: pfn {p:#x} {s.mem.frames[p].data}" for i, p in sorted(space.pages.items())) or "empty"
        ptes = []
        vma = s.mm.find_vma(VMA)
        for addr in range(vma.start, vma.end):
            hit = translate(s.mem, s.mm, addr)
            ptes.append(f"{addr:#x}: {hit[1] if hit else 'none'}")
        blocks = ", ".join(f"{b}: {blk.owner or 'free'} '{blk.contents}'" for b, blk in sorted(fs.blocks.items()))
        return (f"page cache of {FILE}: {cache}\nPTEs: {'; '.join(ptes)}\n"
                f"block map of {FILE}: {fs.inodes[FILE].bmap or 'all holes'}; blocks: {blocks}")


@scenario
class PunchVsFaultAround(PunchHoleBase):
    name = "punch-vs-fault-around"
    doc = "hole punch vs a read fault whose fault-around (filemap_map_pages) maps pages being punched (2020, seed 000)"
    actors = (
        Actor("punch", "fallocate(PUNCH_HOLE)", punch_hole, min=1, max=1),
        Actor("fault", "read fault", read_fault, min=1, max=2),
    )
    params = {
        "fault_index": [0, 1],
        "prefaulted": [False, True],
    }
    racy_on = ({"kernel": "v5.8", "overrides": {"truncate_inode_pages_range": "no-reunmap"}},
               {"kernel": "v5.8", "options": {"fs": "generic"}, "overrides": {"truncate_inode_pages_range": "no-reunmap"}})
    # without the re-unmap, XFS v5.9's MMAPLOCK around ->map_pages does not help: a second fault's
    # ->fault path sets its PTE in finish_fault(), after xfs_filemap_fault() dropped MMAPLOCK
    # what each clean verdict rests on (mmfuzz mutate, one fault): v5.8 on the page locks
    # and the re-unmap; v5.9 on the punch's MMAPLOCK alone, which now also excludes
    # ->map_pages; v6.4 (no MMAPLOCK around ->map_pages again) on the page locks again
    clean_on = (
        {"kernel": "v5.8", "rests_on": {
            "trylock_page(page) in filemap_map_pages": "no-stale-pte",
            "trylock_page(page) in truncate_inode_pages_range": "no-stale-pte",
            "lock_page in truncate_inode_pages_range": "no-stale-pte",
            "truncate_inode_pages_range=no-reunmap": "no-stale-pte",
            "xfs_ilock: down_read(xfs_mmaplock) in __xfs_filemap_fault": "no-stale-data",
            "xfs_ilock: down_write(xfs_mmaplock) in xfs_file_fallocate": "no-stale-data"}},
        {"kernel": "v5.9", "rests_on": {
            "xfs_ilock: down_write(xfs_mmaplock) in xfs_file_fallocate": "no-stale-data"}},
        {"kernel": "v5.15", "rests_on": {
            "xfs_ilock: down_write(invalidate_lock) in xfs_file_fallocate": "no-stale-data"}},
        {"kernel": "v6.4", "rests_on": {
            "trylock_page(page) in filemap_map_pages": "no-stale-pte",
            "trylock_page(page) in truncate_inode_pages_range": "no-stale-pte",
            "lock_page in truncate_inode_pages_range": "no-stale-pte",
            "lock_page in filemap_fault": "no-stale-pte",
            "truncate_inode_pages_range=no-reunmap": "no-stale-pte",
            "down_read(invalidate_lock) in filemap_fault": "no-stale-data",
            "xfs_ilock: down_write(invalidate_lock) in xfs_file_fallocate": "no-stale-data"}})
    explore_with = ({"punch": 1, "fault": 1},)


@scenario
class PunchVsFill(PunchHoleBase):
    name = "punch-vs-fill"
    doc = "hole punch vs page-cache instantiation by fault, read() and fadvise(WILLNEED): stale data (2020, 730633f0b7f9)"
    actors = (
        Actor("punch", "fallocate(PUNCH_HOLE)", punch_hole, min=1, max=1),
        Actor("fault", "read fault", read_fault, min=0, max=1),
        Actor("read", "read()", buffered_read, min=0, max=1),
        Actor("fadvise", "fadvise(WILLNEED)", fadvise_willneed, min=0, max=1),
        Actor("reuse", "write to another file", write_other_file, min=0, max=1),
    )
    params = {
        "cached": [False, True],
        "prefaulted": [False],
        "fault_index": [0, 1],
        "read_index": [0, 1],
    }
    # ext4 (i_mmap_sem on fault and punch since v4.5) only through read() and fadvise
    racy_on = ({"kernel": "v5.9", "options": {"fs": "generic"}}, {"kernel": "v5.9", "options": {"fs": "ext4"}})
    # each rests on the lock that keeps a fill from instantiating a page under the punch
    # (XFS IOLOCK/MMAPLOCK, then invalidate_lock), and on the page locks and the re-unmap
    _PAGE_LOCKS = {"lock_page in filemap_fault": "no-stale-pte",
                   "lock_page in truncate_inode_pages_range": "no-stale-pte",
                   "trylock_page(page) in truncate_inode_pages_range": "no-stale-pte",
                   "truncate_inode_pages_range=no-reunmap": "no-stale-pte"}
    clean_on = (
        {"kernel": "v5.9", "rests_on": _PAGE_LOCKS | {
            "xfs_ilock: down_read(i_rwsem) in xfs_file_fadvise": "no-stale-data",
            "xfs_ilock: down_read(i_rwsem) in xfs_file_read_iter": "no-stale-data",
            "xfs_ilock: down_write(i_rwsem) in xfs_file_fallocate": "no-stale-data",
            "xfs_ilock: down_write(xfs_mmaplock) in xfs_file_fallocate": "no-stale-data"}},
        {"kernel": "v5.15", "rests_on": _PAGE_LOCKS | {
            "xfs_ilock: down_write(invalidate_lock) in xfs_file_fallocate": "no-stale-data"}},
        {"kernel": "v5.15", "options": {"fs": "generic"}, "rests_on": _PAGE_LOCKS | {
            "trylock_page(page) in filemap_map_pages": "no-stale-pte",
            "down_read(invalidate_lock) in filemap_fault": "no-stale-data",
            "down_read(invalidate_lock) in page_cache_ra_unbounded": "no-stale-data",
            "down_write(invalidate_lock) in genericfs_punch_hole": "no-stale-data"}},
        {"kernel": "v6.4", "rests_on": _PAGE_LOCKS | {
            "trylock_page(page) in filemap_map_pages": "no-stale-pte",
            "down_read(invalidate_lock) in filemap_fault": "no-stale-data",
            "xfs_ilock: down_write(invalidate_lock) in xfs_file_fallocate": "no-stale-data"}},
        # ext4 v5.15: invalidate_lock on fault, readahead and punch (730633f0b7f9)
        {"kernel": "v5.15", "options": {"fs": "ext4"}, "rests_on": _PAGE_LOCKS | {
            "trylock_page(page) in filemap_map_pages": "no-stale-pte",
            "down_read(invalidate_lock) in filemap_fault": "no-stale-data",
            "down_read(invalidate_lock) in page_cache_ra_unbounded": "no-stale-data",
            "ext4_invalidate_lock: down_write(invalidate_lock) in ext4_punch_hole": "no-stale-data"}})
    explore_with = ({"punch": 1, "fault": 1}, {"punch": 1, "read": 1}, {"punch": 1, "fadvise": 1})


def truncater(k, t, s):
    """truncate(fd, 1 page): the second page goes beyond EOF."""
    def do_sys_truncate():
        yield from k.do_truncate(t, FILE, NEW_SIZE)
        s.extra["punch_returned"] = True  # the truncate's last step; faults and reads note it
    return do_sys_truncate()


NEW_SIZE = 1
EXT4, XFS = {"fs": "ext4"}, {"fs": "xfs"}
NO_MAP_CHECK = ("filemap_map_pages", "mutant-no-isize-check")
NO_RECHECK_515 = "mutant-v5.15-no-isize-recheck"
# every truncate verdict rests on these: the page lock from ->fault to finish_fault(), the
# truncate's page locks, and fault-around's i_size check under the page lock
_PAGE_LOCKS_EOF = {"lock_page in filemap_fault": "no-pte-beyond-eof",
                   "lock_page in truncate_inode_pages_range": "no-pte-beyond-eof",
                   "trylock_page(page) in truncate_inode_pages_range": "no-pte-beyond-eof",
                   "=".join(NO_MAP_CHECK): "no-pte-beyond-eof"}


@scenario
class TruncateVsFaultAround(PunchHoleBase):
    name = "truncate-vs-fault-around"
    doc = ("truncate(2) (->setattr: i_size, truncate_pagecache, free the blocks) vs fault-around, ->fault and "
           "read() on ext2-like, ext4 and XFS: PTEs beyond the new EOF (2020)")
    paths = ("do_read_fault", "filemap_fault", "filemap_map_pages", "filemap_read", "page_cache_ra_unbounded",
             "readpage", "truncate_inode_pages_range", "unmap_mapping_range", "zap_page_range",
             "pte_offset_map_lock", "do_truncate", "genericfs", "ext4", "xfs_file", "xfs_iops")
    # generic first: ext2's setsize (truncate_setsize() under inode_lock only until v5.15)
    options = {"fs": ("generic", "ext4", "xfs")}
    actors = (
        Actor("truncate", "truncate(1 page)", truncater, min=1, max=1),
        Actor("fault", "read fault", read_fault, min=1, max=2),
        Actor("read", "read()", buffered_read, min=0, max=1),
    )
    # the fault and the read both at the page the truncate removes (explored cheaply)
    params = {
        "cached": [False, True],
        "prefaulted": [False],
        "fault_index": [1],
        "read_index": [1],
    }
    # a fault or read() that started before the truncate can leave a page beyond EOF in the
    # cache (the kernel does too); the i_size checks under the page lock keep it unmapped
    # a fault or read() that started before the truncate, or a read() at the new EOF after
    # it (until 8c8387ee3f55, v5.16), leaves a page beyond EOF in the cache, as the kernel
    # does; the i_size checks under the page lock keep it unmapped
    racy_on = ({"kernel": "v5.9", "overrides": {NO_MAP_CHECK[0]: NO_MAP_CHECK[1]}},
               {"kernel": "v5.9", "overrides": {"filemap_fault": "mutant-no-isize-recheck"}},
               # ext4 and XFS alike: fault-around maps the page a read() past the new EOF left
               {"kernel": "v5.9", "options": EXT4, "overrides": {NO_MAP_CHECK[0]: NO_MAP_CHECK[1]}},
               {"kernel": "v5.9", "options": XFS, "overrides": {NO_MAP_CHECK[0]: NO_MAP_CHECK[1]}},
               # v6.4 XFS (read() stops at EOF, under IOLOCK): a second fault maps the page a
               # first one's ->fault created after the truncate and left when it SIGBUSed
               {"kernel": "v6.4", "options": XFS, "overrides": {NO_MAP_CHECK[0]: NO_MAP_CHECK[1]}},
               # v5.15: filemap_fault() takes invalidate_lock only to create or read a page,
               # so a fault that passed the first i_size check creates one after the truncate
               {"kernel": "v5.15", "options": EXT4, "overrides": {"filemap_fault": NO_RECHECK_515}},
               {"kernel": "v5.15", "options": XFS, "overrides": {"filemap_fault": NO_RECHECK_515}})
    # what each clean verdict rests on (mmfuzz mutate truncate-vs-fault-around --fs FS --kernel K):
    # always the page locks and fault-around's i_size check; ->fault's re-check only where
    # no fs lock held across the i_size change excludes ->fault (generic; v5.15 and later)
    clean_on = ({"kernel": "v5.9", "rests_on": _PAGE_LOCKS_EOF | {
        "filemap_fault=mutant-no-isize-recheck": "no-pte-beyond-eof"}},
                {"kernel": "v5.9", "options": EXT4, "rests_on": dict(_PAGE_LOCKS_EOF)},
                # v5.8 XFS: fault-around without MMAPLOCK; its trylock_page() matters too, but
                # only with three preemptions (read(), then fault-around, then the truncate)
                {"kernel": "v5.8", "options": XFS, "rests_on": dict(_PAGE_LOCKS_EOF)},
                {"kernel": "v5.9", "options": XFS, "rests_on": dict(_PAGE_LOCKS_EOF)},
                # without ->fault's re-check, v5.9 rests on the fs lock held across the i_size
                # change and the page-cache truncation (i_mmap_sem, MMAPLOCK), on both sides
                {"kernel": "v5.9", "options": EXT4, "overrides": {"filemap_fault": "mutant-no-isize-recheck"},
                 "rests_on": _PAGE_LOCKS_EOF | {
                     "ext4_invalidate_lock: down_write(ext4_i_mmap_sem) in ext4_setattr": "no-pte-beyond-eof",
                     "down_read(ext4_i_mmap_sem) in ext4_filemap_fault": "no-pte-beyond-eof"}},
                {"kernel": "v5.9", "options": XFS, "overrides": {"filemap_fault": "mutant-no-isize-recheck"},
                 "rests_on": _PAGE_LOCKS_EOF | {
                     "xfs_ilock: down_write(xfs_mmaplock) in xfs_vn_setattr": "no-pte-beyond-eof",
                     "xfs_ilock: down_read(xfs_mmaplock) in __xfs_filemap_fault": "no-pte-beyond-eof"}},
                {"kernel": "v5.15", "options": EXT4, "rests_on": _PAGE_LOCKS_EOF | {
                    f"filemap_fault={NO_RECHECK_515}": "no-pte-beyond-eof"}},
                {"kernel": "v5.15", "options": XFS, "rests_on": _PAGE_LOCKS_EOF | {
                    f"filemap_fault={NO_RECHECK_515}": "no-pte-beyond-eof"}},
                {"kernel": "v6.4", "options": XFS, "rests_on": _PAGE_LOCKS_EOF | {
                    f"filemap_fault={NO_RECHECK_515}": "no-pte-beyond-eof"}})
    # two faults: one leaves a page beyond EOF in the cache (its ->fault SIGBUSes under the
    # page lock, after the truncate), the other's fault-around finds it
    explore_with = ({"truncate": 1, "fault": 1}, {"truncate": 1, "fault": 1, "read": 1}, {"truncate": 1, "fault": 2})

    def invariants(self, run):
        s = run.state
        vma = s.mm.find_vma(VMA)
        size = s.files[FILE].i_size
        for addr in range(vma.start, vma.end):
            hit = translate(s.mem, s.mm, addr)
            if hit is None or not isinstance(s.mem.frames.get(hit[1].pfn), Folio):
                continue
            folio = s.mem.frames[hit[1].pfn]
            index = vma.pgoff + addr - vma.start
            if folio.freed:
                raise InvariantBroken("no-stale-pte", f"the PTE of page {addr:#x} maps pfn {hit[1].pfn:#x}, a freed page")
            if not s.extra["punch_returned"]:
                continue
            if index >= size:
                raise InvariantBroken(
                    "no-pte-beyond-eof",
                    f"truncate to {size} page(s) has returned, and the PTE of page {addr:#x} (index {index}) maps "
                    f"pfn {hit[1].pfn:#x} ({folio.data}, {'in the cache' if folio.mapping else 'not in the cache'}): "
                    f"an access beyond EOF must SIGBUS")
            if folio.mapping != FILE:
                raise InvariantBroken(
                    "no-stale-pte",
                    f"truncate has returned, and the PTE of page {addr:#x} maps pfn {hit[1].pfn:#x}, which left "
                    f"the page cache (page->mapping == NULL)")

    def on_finish(self, run, task):
        if task.kind == "read" and task.seen.get("after_punch"):
            index, data = task.seen["read"]
            size = run.state.files[FILE].i_size
            if index >= size and data is not None:
                raise InvariantBroken("read-beyond-eof", f"{task.title} began after truncate to {size} page(s) "
                                                         f"returned and read {data} at page {index}")

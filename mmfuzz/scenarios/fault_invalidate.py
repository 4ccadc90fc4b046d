"""2007: do_no_page() against invalidation and truncation of a file's page cache.

A two-page file, page 1 the one everybody touches. Each kind of faulting actor is a
process with the file mapped at the same address (two of a kind are threads of it): a
read or a write through a shared mapping, or a write through a private one (a COW copy). Against them: an O_DIRECT write of page 1
(unmap, write back, write the disk, invalidate_inode_pages2_range(): inside i_size), or
a truncate to one page (vmtruncate(): page 1 goes beyond i_size), and a read() that
brings the page back into the cache.

The seqlock of v2.6.20 (truncate_count) protects truncation beyond i_size only; d00806b18315
(v2.6.23) holds the page lock from the lookup until the PTE is set.
"""

from __future__ import annotations


from mmfuzz.engine.scenario import Actor, Scenario, scenario
from mmfuzz.engine.violations import InvariantBroken
from mmfuzz.kernel.locking import PageLocked, down_read, up_read
from mmfuzz.model.memory import Folio
from mmfuzz.model.mm import Vma, new_mm, put, slot, translate
from mmfuzz.model.pagecache import AddressSpace
from mmfuzz.model.pgtable import mk_leaf
from mmfuzz.model.state import State

# import for registration of the code paths these scenarios run
import mmfuzz.kernel.mm.filemap  # noqa: F401,E402
import mmfuzz.kernel.mm.memory  # noqa: F401,E402
import mmfuzz.kernel.mm.shmem  # noqa: F401,E402
import mmfuzz.kernel.mm.truncate  # noqa: F401,E402

FILE = "file"
NR_PAGES = 2
TARGET = 1  # the page the actors race on
VMA_START = 8  # every process maps the file at the same address
MAX_TRIES = 4  # userspace retries an access whose PTE was zapped under it

SHARED = frozenset({"VM_READ", "VM_WRITE", "VM_SHARED", "VM_MAYSHARE"})
PRIVATE = frozenset({"VM_READ", "VM_WRITE"})

# kind -> (mapping flags, write access); each instance gets its own process
FAULTERS = {
    "fault": (SHARED, False),
    "write": (SHARED, True),
    "cow": (PRIVATE, True),
}


def _instance(t) -> int:
    """Which instance of its kind a task is: titles are "read fault", "read fault #2"..."""
    return int(t.title.rsplit("#", 1)[1]) if "#" in t.title else 1


def _access(kind: str):
    flags, write = FAULTERS[kind]

    def start(k, t, s):
        mmi = s.extra["mm_of"][(kind, _instance(t))]
        mm = s.mms[mmi]
        vma = mm.vmas[0]
        addr = vma.start + TARGET
        token = f"{kind}#{_instance(t)}"

        def user_store():
            for _ in range(MAX_TRIES):
                yield f"*({addr:#x}) = '{token}'"
                if _store(s, t, mm, vma, addr, token):
                    return
                ret = yield from do_page_fault(k, t, mm, vma, addr, True)
                if ret == "VM_FAULT_SIGBUS":
                    return

        def user_load():
            for _ in range(MAX_TRIES):
                yield f"x = *({addr:#x})"
                if _load(s, t, mm, addr):
                    return
                ret = yield from do_page_fault(k, t, mm, vma, addr, False)
                if ret == "VM_FAULT_SIGBUS":
                    return

        return user_store() if write else user_load()

    return start


def do_page_fault(k, t, mm, vma, addr, write):
    """arch do_page_fault(): mmap_sem for read around handle_mm_fault()."""
    yield from down_read(t, mm.mmap_lock)
    ret = yield from k.handle_mm_fault(t, vma, addr, write)
    up_read(t, mm.mmap_lock)
    if ret == "VM_FAULT_SIGBUS":
        t.seen["sigbus"] = True
        t.note("SIGBUS")
    return ret


def _load(s, t, mm, addr) -> bool:
    hit = translate(s.mem, mm, addr)
    if hit is None:
        t.note("no PTE: page fault")
        return False
    folio = s.mem.frames[hit[1].pfn]
    t.seen["read"] = folio.data
    t.note(f"reads '{folio.data}' from pfn {hit[1].pfn:#x}")
    return True


def _store(s, t, mm, vma, addr, token) -> bool:
    hit = translate(s.mem, mm, addr)
    if hit is None or not hit[1].write:
        t.note("no writable PTE: page fault")
        return False
    pfn = hit[1].pfn
    folio = s.mem.frames[pfn]
    folio.data = token
    t.note(f"writes '{token}' to pfn {pfn:#x}")
    if folio.kind == "file":
        folio.flags.add("dirty")  # the PTE dirty bit reaches the page at zap or writeback
        if "VM_SHARED" in vma.flags and folio.mapping is None:
            t.seen["lost_write"] = (token, pfn)
    return True


def odirect_writer(k, t, s):
    return k.generic_file_aio_write(t, FILE, TARGET, 1, "odirect")


def truncater(k, t, s):
    return k.do_truncate(t, FILE, TARGET)


def reader(k, t, s):
    def read():
        data = yield from k.do_generic_mapping_read(t, FILE, TARGET)
        t.seen["read"] = data
    return read()


def pte_targets(s: State):
    """(process, vma, address, file index, pfn) for every present PTE of the file's VMAs."""
    for mm in s.mms:
        for vma in mm.vmas:
            if vma.file != FILE:
                continue
            for addr in range(vma.start, vma.end):
                hit = translate(s.mem, mm, addr)
                if hit is not None:
                    yield mm, vma, addr, vma.pgoff + addr - vma.start, hit[1].pfn


# the fault and unmap paths every 2007 scenario runs
COMMON_PATHS = ("do_no_page", "find_get_page", "unmap_mapping_range", "zap_page_range", "pte_offset_map_lock",
                "truncate_inode_pages_range")


class FaultRaceScenario(Scenario):
    paths: tuple[str, ...] = COMMON_PATHS + ("filemap_nopage", "do_generic_mapping_read")
    params = {
        # page 1 is in the page cache when the actors start
        "cached": [True, False],
        # another process has page 1 mapped already (only if it is cached)
        "bystander": [False, True],
    }

    def initial_state(self, k, params):
        s = State()
        mem = s.mem
        disk = {i: f"old{i}" for i in range(NR_PAGES)}
        s.extra["disk"] = {FILE: disk}
        space = AddressSpace(FILE, i_size=NR_PAGES)
        s.files[FILE] = space
        for i in range(NR_PAGES):
            if i != TARGET or params["cached"]:
                space.pages[i] = mem.alloc(Folio(kind="file", mapping=FILE, index=i,
                                                 flags={"uptodate"}, data=disk[i]))
        # one process per kind of faulter; two of a kind are threads sharing its mm
        s.extra["mm_of"] = {}
        for a in self.actors:
            if a.kind in FAULTERS:
                mmi = self._process(k, s, a.kind, FAULTERS[a.kind][0])
                for n in range(1, a.max + 1):
                    s.extra["mm_of"][(a.kind, n)] = mmi
        if params.get("bystander") and params["cached"]:
            mm = s.mms[self._process(k, s, "bystander", SHARED)]
            pfn = space.pages[TARGET]
            put(mem, slot(mem, mm, VMA_START + TARGET, "pte"), mk_leaf(pfn))
            s.mem.frames[pfn].mapcount += 1
            s.mem.frames[pfn].refcount += 1
        return s

    def mmap(self, k, vma) -> None:
        """file->f_op->mmap(): a regular file on a disk filesystem."""
        k.generic_file_mmap(vma)

    def _process(self, k, s, name, flags) -> int:
        """A process with the whole file mmap()ed at VMA_START; returns its index."""
        mmi = len(s.mms)
        mm = new_mm(s.mem, f"{name}.")
        s.mms.append(mm)
        vma = Vma(name, VMA_START, VMA_START + NR_PAGES, flags=flags, file=FILE, mm=mmi)
        self.mmap(k, vma)
        mm.vmas.append(vma)
        s.files[FILE].i_mmap.append((mmi, name))
        slot(s.mem, mm, VMA_START, "pte", create=True)  # the page tables exist
        return mmi

    def invariants(self, run):
        s = run.state
        space = s.files[FILE]
        for _mm, vma, _addr, idx, pfn in pte_targets(s):
            folio = s.mem.frames[pfn]
            if folio.kind != "file" or space.pages.get(idx) == pfn or PageLocked(s, pfn):
                continue
            cached = space.pages.get(idx)
            now = (f"the cache holds pfn {cached:#x} ('{s.mem.frames[cached].data}')" if cached is not None
                   else "the cache has no page there")
            raise InvariantBroken(
                "no-dangling-pte",
                f"{vma.name}'s PTE for page {idx} maps pfn {pfn:#x} ('{folio.data}'), which is no longer "
                f"in the page cache (page->mapping == NULL); {now}")
        for task in run.tasks:
            lost = task.seen.get("lost_write")
            if lost:
                raise InvariantBroken(
                    "no-lost-write",
                    f"{task.title} wrote '{lost[0]}' through a shared mapping into pfn {lost[1]:#x}, "
                    f"a page the file no longer has: the write never reaches the file")

    def on_finish(self, run, task):
        if task.kind != "truncate":
            return
        s = run.state
        size = s.files[FILE].i_size
        for _mm, vma, _addr, idx, pfn in pte_targets(s):
            if idx >= size:
                raise InvariantBroken(
                    "no-pte-beyond-eof",
                    f"truncate to {size} page(s) returned, but {vma.name}'s PTE for page {idx} still maps "
                    f"pfn {pfn:#x} ({s.mem.frames[pfn].kind} page '{s.mem.frames[pfn].data}')")

    def describe(self, run):
        s = run.state
        space = s.files[FILE]
        cached = space.pages.get(TARGET)
        lines = [f"page {TARGET}: i_size {space.i_size}, truncate_count {space.truncate_count}, "
                 f"disk '{s.extra['disk'][FILE].get(TARGET)}', page cache "
                 + (f"pfn {cached:#x} ('{s.mem.frames[cached].data}')" if cached is not None else "empty")]
        for _mm, vma, _addr, idx, pfn in pte_targets(s):
            if idx == TARGET:
                f = s.mem.frames[pfn]
                where = "anon copy" if f.kind == "anon" else ("in the cache" if f.mapping else "NOT in the cache")
                lines.append(f"{vma.name} maps it: pfn {pfn:#x} ('{f.data}', {where})")
        for task in run.tasks:
            if task.kind == "read" and "read" in task.seen:
                lines.append(f"{task.title}: read() returned '{task.seen['read']}'")
        return "\n".join(lines)


_FAULT_ACTORS = (
    Actor("fault", "read fault", _access("fault"), min=1, max=2),
    Actor("write", "shared write fault", _access("write"), min=0, max=1),
    Actor("cow", "private write fault", _access("cow"), min=0, max=1),
)


@scenario
class FaultVsInvalidate(FaultRaceScenario):
    name = "fault-vs-invalidate"
    doc = "do_no_page() vs an O_DIRECT write's invalidate_inode_pages2_range() inside i_size (2007)"
    paths = FaultRaceScenario.paths + ("generic_file_direct_IO", "invalidate_inode_pages2_range")
    racy_on = ({"kernel": "v2.6.20"},)
    # d00806b18315: the page lock from lookup to map (find_lock_page; without it the
    # invalidation's BUG_ON fires), the page lock in the invalidation, its second unmap
    clean_on = ({"kernel": "v2.6.23", "rests_on": {
        "lock_page in find_lock_page": "no-BUG_ON",
        "trylock_page(page) in find_lock_page": "no-BUG_ON",
        "lock_page in invalidate_inode_pages2_range": "no-dangling-pte",
        "invalidate_inode_pages2_range=no-unmap-under-lock": "no-BUG_ON"}},)
    explore_with = ({"fault": 1, "odirect": 1}, {"write": 1, "odirect": 1})
    actors = _FAULT_ACTORS + (
        Actor("odirect", "O_DIRECT write", odirect_writer, min=1, max=1),
        Actor("read", "read()", reader, min=0, max=1),
    )


@scenario
class FaultVsTruncate(FaultRaceScenario):
    name = "fault-vs-truncate"
    doc = "do_no_page() vs vmtruncate() shrinking the file below the faulting page (2007)"
    paths = FaultRaceScenario.paths + ("vmtruncate",)
    # the seqlock protects truncation beyond i_size. d00806b18315 drops the seqlock, so
    # v2.6.20's single even_cows unmap no longer suffices: a COW fault that passed its
    # i_size check maps its private copy after that unmap (the merged second unmap
    # closes it). Nick's January RFC has no even_cows unmap at all: its surviving COW
    # page needs no race (0 preemptions), so it is no verdict here (tests/test_race_2007.py)
    racy_on = ({"kernel": "v2.6.23", "overrides": {"vmtruncate": "v2.6.20"}},)
    # v2.6.20 rests on the truncate_count re-check; v2.6.23 on the page lock from lookup to
    # map, the unmap under the page lock in truncate, and vmtruncate's second unmap
    clean_on = ({"kernel": "v2.6.20", "rests_on": {"do_no_page=no-truncate-count-recheck": "no-pte-beyond-eof"}},
                {"kernel": "v2.6.23", "rests_on": {
                    "trylock_page(page) in find_lock_page": "no-BUG_ON",
                    "truncate_inode_pages_range=no-unmap-under-lock": "no-dangling-pte",
                    "vmtruncate=no-second-unmap": "no-pte-beyond-eof"}})
    explore_with = ({"cow": 1, "truncate": 1}, {"fault": 1, "truncate": 1})
    actors = _FAULT_ACTORS + (
        Actor("truncate", "truncate", truncater, min=1, max=1),
        Actor("read", "read()", reader, min=0, max=1),
    )


def hole_puncher(k, t, s):
    """madvise(MADV_REMOVE) of page 1 by another process (its mmap_sem excludes none of the
    faulters; 2.6.20 holds it for write, later kernels drop it): madvise_remove() ->
    vmtruncate_range() of the page."""
    def madvise_remove():
        yield from k.vmtruncate_range(t, FILE, TARGET, TARGET)
        s.extra["punch_returned"] = True  # part of the punch's last step
    return madvise_remove()


@scenario
class FaultVsPunch(FaultRaceScenario):
    name = "fault-vs-punch"
    doc = "do_no_page() vs madvise(MADV_REMOVE)'s vmtruncate_range() on tmpfs: a hole inside i_size (2007)"
    paths = COMMON_PATHS + ("shmem", "vmtruncate_range")
    # as with invalidation, the seqlock cannot help inside i_size; d00806b18315's page
    # lock (and truncate's re-unmap under it) does
    # Hugh Dickins' 2007 unmap after shmem_truncate_range()'s second truncate closes it
    # only while the file keeps pages in the cache (page0_cached)
    racy_on = ({"kernel": "v2.6.20"}, {"kernel": "v2.6.20", "overrides": {"shmem": "v2.6.21"}})
    # v2.6.23 rests on the page lock held from lookup to the PTE set, which truncate's
    # page lock (and its re-unmap under it) waits for (mmfuzz mutate fault-vs-punch --kernel v2.6.23)
    clean_on = ({"kernel": "v2.6.23", "rests_on": {
        "lock_page in truncate_inode_pages_range": "no-dangling-pte",
        "trylock_page(page) in truncate_inode_pages_range": "no-dangling-pte",
        "do_no_page=mutant-early-unlock": "no-dangling-pte"}},)
    explore_with = ({"fault": 1, "punch": 1}, {"write": 1, "punch": 1})
    actors = _FAULT_ACTORS + (
        Actor("punch", "madvise(MADV_REMOVE)", hole_puncher, min=1, max=1),
    )

    params = {
        "cached": [True, False],
        # page 0 (outside the hole) is in the page cache: shmem_truncate_range() does its
        # second truncate (and, since Hugh Dickins' fix, an unmap) only if pages remain
        "page0_cached": [True, False],
        # (no bystander: fault-vs-invalidate covers unmapping a second process)
    }

    def mmap(self, k, vma) -> None:
        k.shmem_mmap(vma)

    def initial_state(self, k, params):
        s = super().initial_state(k, params)
        s.extra["punch_returned"] = False
        if not params["page0_cached"]:
            space = s.files[FILE]
            s.mem.frames[space.pages.pop(0)].mapping = None  # evicted before the actors start
        return s

    def invariants(self, run):
        # While the punch runs, a PTE to a page it already dropped is a read or write
        # ordered before the punch; one left behind once it returned is the bug (later
        # faults see a new zeroed page, writes through the old one are lost)
        if run.state.extra["punch_returned"]:
            super().invariants(run)


__all__ = ["FaultVsInvalidate", "FaultVsPunch", "FaultVsTruncate"]

"""mm/memory.c: the fault path down to the PUD/PMD huge-fault hooks, zapping, unmap_mapping_range.

Addresses and file offsets are in pages (see mmfuzz.model.pgtable).
"""

from __future__ import annotations

import attrs

from mmfuzz.engine.task import inline
from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, spin_lock, spin_unlock, unlock_page, up_read
from mmfuzz.kernel.mm.huge_memory import HPAGE_PMD_NR, VM_FAULT_FALLBACK, VM_FAULT_NOPAGE
from mmfuzz.model.memory import Folio
from mmfuzz.model.mm import Vma
from mmfuzz.model.pgtable import (
    HPAGE_PUD_NR, NONE, PMD_ORDER, PTRS, PUD_ORDER, PageTable, Ptr, addr_end, index, is_swap_pmd,
    mk_leaf, mk_table, pmd_devmap, pmd_none, pmd_trans_huge, pud_devmap, pud_leaf, pud_none, pud_present,
    pud_trans_huge,
)
from mmfuzz.kernel.mm.pgtable_generic import ptl_of_table

handle_mm_fault = code_path(
    "handle_mm_fault", file="mm/memory.c",
    doc="handle_mm_fault() -> __handle_mm_fault(): PUD and PMD huge faults, pmd_alloc() fallback")
zap_page_range = code_path(
    "zap_page_range", file="mm/memory.c",
    doc="zap_page_range_single() -> zap_{pud,pmd,pte}_range(): clear entries under the page-table locks")
unmap_mapping_range = code_path(
    "unmap_mapping_range", file="mm/memory.c",
    doc="unmap_mapping_range() / unmap_mapping_pages(): zap every VMA mapping a file range")


@attrs.define
class Vmf:
    vma: Vma
    address: int
    pgoff: int
    flags: frozenset = frozenset()
    pud: Ptr | None = None
    pmd: Ptr | None = None


@attrs.define
class ZapDetails:
    even_cows: bool = True
    # 2.6.x: details->check_mapping; zap only pages whose page->mapping is this file
    check_mapping: str | None = None


@handle_mm_fault.version("v6.12", since="v6.12",
                         models="v6.12 mm/memory.c __handle_mm_fault() with huge_fault(PUD_ORDER) for pfnmaps (Peter Xu's huge pfnmap series)")
class HandleMmFaultV612(KernelCode):
    """__handle_mm_fault(): try a PUD leaf on a none PUD, else allocate a PMD table and try a PMD leaf."""

    def handle_mm_fault(self, t, vma, address: int, flags=frozenset()):
        vmf = Vmf(vma, address, vma.pgoff + (address - vma.start), frozenset(flags))
        return (yield from self._handle_mm_fault(t, vmf))

    def _handle_mm_fault(self, t, vmf: Vmf):
        mm = self.s.mms[vmf.vma.mm]
        vmf.pud = self.upper_offset(t, mm, vmf.address, "pud")  # pgd_offset, p4d_alloc, pud_alloc
        while True:  # retry_pud:
            # `pud_none(*vmf.pud)` and `orig_pud = *vmf.pud` are two loads: a zap
            # between them sends a fault that saw a leaf on to pmd_alloc()
            yield "pud_none(*vmf->pud)"
            if pud_none(self.load(t, vmf.pud)):
                ret = yield from self.create_huge_pud(t, vmf)
                if ret != VM_FAULT_FALLBACK:
                    return ret
            else:
                yield "orig_pud = *vmf->pud"
                orig = self.load(t, vmf.pud, "orig_pud")
                if self.orig_pud_huge(orig):
                    return 0  # huge_pud_set_accessed(): somebody mapped it already
            vmf.pmd = yield from self.pmd_alloc(t, mm, vmf.pud, vmf.address)
            yield "pud_trans_unstable(vmf->pud)"  # huge PUD fault raced with pmd_alloc?
            if self.pud_trans_unstable(self.load(t, vmf.pud)):
                continue
            # the kernel loads *vmf->pmd twice here too (pmd_none(), then
            # pmdp_get_lockless()); one load keeps the PTE-level fault, which is not
            # modelled, out of reach
            yield "pmd_none(*vmf->pmd)"
            orig_pmd = self.load(t, vmf.pmd)
            if pmd_none(orig_pmd):
                ret = yield from self.create_huge_pmd(t, vmf)
                if ret != VM_FAULT_FALLBACK:
                    return ret
            elif is_swap_pmd(orig_pmd) or self.orig_pmd_huge(orig_pmd):
                return 0  # huge_pmd_set_accessed()
            return (yield from self.handle_pte_fault(t, vmf))

    @staticmethod
    def orig_pud_huge(orig) -> bool:
        return pud_trans_huge(orig) or pud_devmap(orig)

    @staticmethod
    def orig_pmd_huge(orig) -> bool:
        return pmd_trans_huge(orig) or pmd_devmap(orig)

    @staticmethod
    def pud_trans_unstable(pudval) -> bool:
        """include/linux/pgtable.h (the READ_ONCE(*pud) is the step before)."""
        return pud_none(pudval) or pud_trans_huge(pudval) or pud_devmap(pudval)

    def create_huge_pud(self, t, vmf: Vmf):
        return (yield from self.vm_ops(vmf.vma).huge_fault(self, t, vmf, PUD_ORDER))

    def create_huge_pmd(self, t, vmf: Vmf):
        return (yield from self.vm_ops(vmf.vma).huge_fault(self, t, vmf, PMD_ORDER))

    def handle_pte_fault(self, t, vmf: Vmf):
        raise NotImplementedError("PTE-level faults are not modelled on this path")
        yield  # pragma: no cover

    def pmd_alloc(self, t, mm, pud: Ptr, address: int):
        yield "pud_none(*pud)"
        if pud_none(self.load(t, pud)):
            yield from self._pmd_alloc(t, mm, pud, address)
        yield "pmd_offset(pud, address)"
        return self.offset(t, pud, address)

    def _pmd_alloc(self, t, mm, pud: Ptr, address: int):
        yield from spin_lock(t, mm.page_table_lock)  # pud_lock()
        if not pud_present(self.load(t, pud, "re-check *pud")):
            entry = mk_table(self.s.mem.alloc(PageTable("pmd")))
            self.set_entry(pud, entry)  # pud_populate()
            t.note(f"pud_populate: *pud = {entry}")
        spin_unlock(t, mm.page_table_lock)

    def vm_ops(self, vma):
        return VM_OPS[vma.ops]


@handle_mm_fault.version("8a6a984c2e0e", since="v6.17", commit="8a6a984c2e0e",
                         models="v6.17: 8a6a984c2e0e 'mm: remove redundant pXd_devmap calls' in "
                                "__handle_mm_fault() and pud_trans_unstable()")
class HandleMmFaultNoDevmap(HandleMmFaultV612):
    """The huge-entry tests of __handle_mm_fault() without their pXd_devmap() terms."""

    orig_pud_huge = staticmethod(pud_trans_huge)
    orig_pmd_huge = staticmethod(pmd_trans_huge)

    @staticmethod
    def pud_trans_unstable(pudval) -> bool:
        return pud_none(pudval) or pud_trans_huge(pudval)


# vma->vm_ops by VMA kind; drivers register theirs (see drivers/vfio/pci)
VM_OPS: dict = {}


class VmOperations:
    """A vm_operations_struct, written as the kernel's initializer: each hook names the
    kernel function it calls (``VmOperations("xfs_file_vm_ops", fault="xfs_filemap_fault")``
    for ``.fault = xfs_filemap_fault``); a hook not given is NULL (None). A hook is
    called with the composed kernel first: ``VM_OPS[vma.ops].fault(kernel, t, vmf)``."""

    HOOKS = ("fault", "map_pages", "huge_fault", "nopage")

    def __init__(self, name: str, **hooks: str):
        unknown = sorted(set(hooks) - set(self.HOOKS))
        if unknown:
            raise TypeError(f"{name}: no vm_operations_struct hook {', '.join(unknown)}")
        self.name = name
        for hook in self.HOOKS:
            setattr(self, hook, None if hook not in hooks else self._calls(hooks[hook]))

    @staticmethod
    def _calls(function: str):
        return lambda kernel, t, *args: getattr(kernel, function)(t, *args)


@zap_page_range.version("generic", since="v4.11",
                        models="zap_pud_range/zap_pmd_range/zap_pte_range as in v6.12 (their huge-entry tests "
                               "with pud_devmap() from v4.11, a00cc7d9dd93, to v6.16); the PTE level is the same "
                               "in 2.6 and 5.x")
class ZapPageRange(KernelCode):
    """Clear page-table entries of a VMA range under the page-table locks, dropping rmap and refs."""

    def zap_page_range_single(self, t, vma, address: int, size: int, details: ZapDetails):
        mm = self.s.mms[vma.mm]
        end = address + size
        addr = address
        while addr < end:  # unmap_page_range(): pgd and p4d tables are stable here
            pud = self.upper_offset(t, mm, addr, "pud")
            nxt = addr_end("p4d", addr, end)
            yield from self.zap_pud_range(t, vma, pud, addr, nxt, details)
            addr = nxt

    def zap_pud_range(self, t, vma, pud: Ptr, addr: int, end: int, details):
        while addr != end:
            nxt = addr_end("pud", addr, end)
            zapped = False
            if (yield from self.zap_pud_is_huge(t, pud)):
                if nxt - addr != HPAGE_PUD_NR:
                    yield from self.split_huge_pud(t, vma, pud, addr)
                else:
                    zapped = (yield from self.zap_huge_pud(t, vma, pud, addr)) == 1
            if not zapped:
                yield "pud_none_or_clear_bad(pud)"
                e = self.load(t, pud)
                if e.kind == "table":
                    yield from self.zap_pmd_range(t, vma, pud, addr, nxt, details)
                elif e.kind != "none":
                    self.set_entry(pud, NONE)  # pud_clear_bad(): "bad pud" in the log
                    t.note("pud_clear_bad")
            addr = nxt
            pud = Ptr(pud.pfn, pud.idx + 1, "pud")

    def zap_pmd_range(self, t, vma, pud: Ptr, addr: int, end: int, details):
        yield "pmd = pmd_offset(pud, addr)"
        pmd = self.offset(t, pud, addr)
        while addr != end:
            nxt = addr_end("pmd", addr, end)
            if (yield from self.zap_pmd_is_huge(t, pmd)):
                if nxt - addr != HPAGE_PMD_NR:
                    yield from self._split_huge_pmd(t, vma, pmd, addr)
                elif (yield from self.zap_huge_pmd(t, vma, pmd, addr)) == 1:
                    addr, pmd = nxt, Ptr(pmd.pfn, pmd.idx + 1, "pmd")
                    continue
            yield "pmd_none(*pmd)"
            if pmd_none(self.load(t, pmd)):
                addr, pmd = nxt, Ptr(pmd.pfn, pmd.idx + 1, "pmd")
                continue
            done = yield from self.zap_pte_range(t, vma, pmd, addr, nxt, details)
            if done == nxt:  # else the PTE table went away: redo this pmd
                addr, pmd = nxt, Ptr(pmd.pfn, pmd.idx + 1, "pmd")

    @inline
    def zap_pud_is_huge(self, t, pud: Ptr):
        yield "pud_trans_huge(*pud) || pud_devmap(*pud)"
        e = self.load(t, pud)
        return pud_trans_huge(e) or pud_devmap(e)

    @inline
    def zap_pmd_is_huge(self, t, pmd: Ptr):
        yield "is_swap_pmd(*pmd) || pmd_trans_huge(*pmd) || pmd_devmap(*pmd)"
        e = self.load(t, pmd)
        return is_swap_pmd(e) or pmd_trans_huge(e) or pmd_devmap(e)

    def zap_pte_range(self, t, vma, pmd: Ptr, addr: int, end: int, details):
        mm = self.s.mms[vma.mm]
        got = yield from self.pte_offset_map_lock(t, mm, pmd, addr)
        if got is None:
            return addr
        pte, ptl = got
        while addr != end:
            e = self.deref(t, pte)
            if e.kind != "none":
                frame = self.s.mem.frames.get(e.pfn)
                folio = frame if isinstance(frame, Folio) and frame.kind != "zero" else None
                if folio is not None and folio.kind == "anon" and not details.even_cows:
                    pass  # should_zap_folio(): keep private COW copies
                elif folio is not None and details.check_mapping not in (None, folio.mapping):
                    pass  # 2.6.x: "unmap shared but keep private pages" (and removed ones)
                else:
                    self.set_entry(pte, NONE)  # ptep_get_and_clear_full()
                    t.note(f"zap pte of page {addr:#x} (pfn {e.pfn:#x})")
                    if folio is not None:
                        folio.mapcount -= 1  # folio_remove_rmap_pte()
                        self.folio_put(e.pfn)  # tlb_remove_page(): the mapping's reference
            addr += 1
            pte = Ptr(pte.pfn, index("pte", addr), "pte")
        self.pte_unmap_unlock(t, pte, ptl)
        return addr


@zap_page_range.version("v2.6.12", since="v2.6.12",
                        models="v2.6.12 .. v2.6.37: no huge page-table entries, so zap_pud_range() and "
                               "zap_pmd_range() test only pXd_none_or_clear_bad() (pmd_trans_huge() came with "
                               "THP in v2.6.38, pud_trans_huge()/pud_devmap() in v4.11)")
class ZapPageRangeV2612(ZapPageRange):
    """No huge entries to zap whole: straight to the none/bad test of each entry."""

    @inline
    def zap_pud_is_huge(self, t, pud: Ptr):
        return False
        yield  # pragma: no cover

    @inline
    def zap_pmd_is_huge(self, t, pmd: Ptr):
        return False
        yield  # pragma: no cover


@zap_page_range.version("8a6a984c2e0e", since="v6.17", commit="8a6a984c2e0e",
                        models="v6.17: 8a6a984c2e0e 'mm: remove redundant pXd_devmap calls' "
                               "(no devmap entries exist once DAX maps folios; d438d2734170 removes the bit)")
class ZapPageRangeNoDevmap(ZapPageRange):
    """zap_pud_range()/zap_pmd_range() test pXd_trans_huge() alone."""

    @inline
    def zap_pud_is_huge(self, t, pud: Ptr):
        yield "pud_trans_huge(*pud)"
        return pud_trans_huge(self.load(t, pud))

    @inline
    def zap_pmd_is_huge(self, t, pmd: Ptr):
        yield "is_swap_pmd(*pmd) || pmd_trans_huge(*pmd)"
        e = self.load(t, pmd)
        return is_swap_pmd(e) or pmd_trans_huge(e)


@unmap_mapping_range.version("v6.12", since="v5.8",
                             models="v5.8..v7.x: unmap_mapping_pages() under i_mmap_rwsem (read)")
class UnmapMappingRangeV612(KernelCode):
    """unmap_mapping_range(): for each VMA of the file overlapping the range, zap_page_range_single()."""

    def unmap_mapping_range(self, t, mapping: str, holebegin: int, holelen: int, even_cows: bool):
        nr = holelen if holelen else (1 << 40)  # holelen == 0 means "to the end of the file"
        yield from self.unmap_mapping_pages(t, mapping, holebegin, nr, even_cows)

    def unmap_mapping_pages(self, t, mapping: str, start: int, nr: int, even_cows: bool):
        details = ZapDetails(even_cows=even_cows)
        space = self.s.files[mapping]
        yield from down_read(t, space.i_mmap_lock)  # i_mmap_lock_read()
        for mmi, vname in list(space.i_mmap):
            vma = self.s.mms[mmi].find_vma(vname)
            vstart = max(start, vma.pgoff)
            vend = min(start + nr, vma.pgoff + (vma.end - vma.start))
            if vstart >= vend:
                continue
            addr = vma.start + (vstart - vma.pgoff)
            yield from self.zap_page_range_single(t, vma, addr, vend - vstart, details)
        up_read(t, space.i_mmap_lock)


# ---- follow_pfnmap_start(): look up the pfn a VM_IO/VM_PFNMAP address maps (2026, race C) ----

follow_pfnmap = code_path(
    "follow_pfnmap_start", file="mm/memory.c",
    doc="follow_pfnmap_start() / follow_pfnmap_end(): the pfn mapped at a VM_PFNMAP address, "
        "under the page-table lock of the entry that maps it")


@attrs.define
class FollowPfnmapArgs:
    """struct follow_pfnmap_args: what follow_pfnmap_start() found, and the lock it holds."""

    vma: Vma
    address: int
    pfn: int | None = None
    writable: bool = False
    lock: str | None = None


FOLLOW_OUT, FOLLOW_RETRY, FOLLOW_OK = "out", "retry", "ok"


@follow_pfnmap.version("v6.12", since="v6.12", commit="6da8e9634bb7",
                       models="6da8e9634bb7 'mm: new follow_pfnmap API' (v6.12): after taking the lock "
                              "the leaf test is made on the lockless snapshot, not on a fresh load")
class FollowPfnmapV612(KernelCode):
    """Lockless PUD/PMD snapshot, then the lock; returns 0 with args filled, or -EINVAL."""

    def follow_pfnmap_start(self, t, args: FollowPfnmapArgs):
        vma, address = args.vma, args.address
        mm = self.s.mms[vma.mm]
        if not (vma.start <= address < vma.end) or not {"VM_IO", "VM_PFNMAP"} & vma.flags:
            return -22
        pudp = self.upper_offset(t, mm, address, "pud")  # pgd, p4d: stable here
        while True:  # retry:
            yield "pud = READ_ONCE(*pudp)"
            pud = self.load(t, pudp, "pud")
            if self.follow_pud_absent(pud):
                return -22
            if pud_leaf(pud):
                yield from spin_lock(t, mm.page_table_lock)  # pud_lock()
                got = self.follow_recheck_locked(t, pudp, pud)
                if got == FOLLOW_OK:
                    return self.pfnmap_args_setup(t, args, mm.page_table_lock, self.deref(t, pudp)
                                                  if self.follow_reloads else pud, HPAGE_PUD_NR)
                spin_unlock(t, mm.page_table_lock)
                if got == FOLLOW_OUT:
                    return -22
                continue
            yield "pmd = pmdp_get_lockless(pmdp)"
            pmdp = self.offset(t, pudp, address)  # pmd_offset(): *pud is a table, stable
            pmd = self.load(t, pmdp, "pmd")
            if self.follow_pmd_absent(pmd):
                return -22
            if pud_leaf(pmd):  # pmd_leaf()
                ptl = ptl_of_table(pmdp.pfn)  # pmd_lock()
                yield from spin_lock(t, ptl)
                got = self.follow_recheck_locked(t, pmdp, pmd)
                if got == FOLLOW_OK:
                    return self.pfnmap_args_setup(t, args, ptl, self.deref(t, pmdp)
                                                  if self.follow_reloads else pmd, HPAGE_PMD_NR)
                spin_unlock(t, ptl)
                if got == FOLLOW_OUT:
                    return -22
                continue
            got = yield from self.pte_offset_map_lock(t, mm, pmdp, address)
            if got is None:
                return -22
            pte, ptl = got
            e = self.deref(t, pte)
            if e.kind != "leaf":
                self.pte_unmap_unlock(t, pte, ptl)
                return -22
            return self.pfnmap_args_setup(t, args, ptl, e, 1)

    follow_reloads = False  # the snapshot, not *pudp, is what the caller gets

    def follow_pud_absent(self, pud) -> bool:
        return pud_none(pud)

    def follow_pmd_absent(self, pmd) -> bool:
        return False  # a none PMD goes on to pte_offset_map_lock(), which rejects it

    def follow_recheck_locked(self, t, ptr: Ptr, snapshot) -> str:
        # `if (!unlikely(pud_leaf(pud)))` tests the lockless snapshot: always a leaf here
        return FOLLOW_OK if pud_leaf(snapshot) else FOLLOW_RETRY

    def pfnmap_args_setup(self, t, args: FollowPfnmapArgs, lock: str, e, nr: int) -> int:
        args.lock, args.writable = lock, e.write
        args.pfn = e.pfn + args.address % nr
        t.note(f"follow_pfnmap_start: pfn {args.pfn:#x} (from {e})")
        return 0

    def follow_pfnmap_end(self, t, args: FollowPfnmapArgs) -> None:
        if args.lock:
            spin_unlock(t, args.lock)


@follow_pfnmap.version("ffef67b93aa3", since="v7.0", commit="ffef67b93aa3",
                       models="ffef67b93aa3 'mm/memory: fix PMD/PUD checks in follow_pfnmap_start()' "
                              "(David Hildenbrand, v7.0-rc6, Cc stable): re-read the entry under the lock; "
                              "present checks before pXd_leaf()")
class FollowPfnmapFixed(FollowPfnmapV612):
    """Under the lock: not present means -EINVAL, no longer a leaf means retry."""

    follow_reloads = True

    def follow_pud_absent(self, pud) -> bool:
        return not pud_present(pud)

    def follow_pmd_absent(self, pmd) -> bool:
        return not pud_present(pmd)

    def follow_recheck_locked(self, t, ptr: Ptr, snapshot) -> str:
        e = self.load(t, ptr, "re-check under the lock")  # pudp_get() / pmdp_get()
        if not pud_present(e):
            return FOLLOW_OUT
        return FOLLOW_OK if pud_leaf(e) else FOLLOW_RETRY


# ---- 2020: do_read_fault() -> do_fault_around() / __do_fault() -> alloc_set_pte() (race B) ----

do_read_fault = code_path(
    "do_read_fault", file="mm/memory.c",
    doc="do_read_fault(): fault-around through ->map_pages, else ->fault and finish_fault(); alloc_set_pte()")

VM_FAULT_LOCKED = "VM_FAULT_LOCKED"
VM_FAULT_RETRY = "VM_FAULT_RETRY"
FAULT_AROUND_PAGES = 16  # fault_around_bytes (64K) >> PAGE_SHIFT


@attrs.define
class FileVmf:
    """struct vm_fault for a PTE-level file fault."""

    vma: Vma
    address: int
    pgoff: int
    pmd: Ptr
    pte: Ptr | None = None
    ptl: str | None = None
    page: int | None = None  # pfn of vmf->page


@do_read_fault.version("v5.8", since="v5.8",
                       models="v5.8..v5.11 mm/memory.c do_read_fault/do_fault_around/alloc_set_pte; v5.12 folded "
                              "alloc_set_pte() into do_set_pte() with the same 'PTL, pte_none re-check, set_pte' order")
class DoReadFaultV58(KernelCode):
    """Fault-around maps what ->map_pages finds uptodate; a miss goes to ->fault, then finish_fault()."""

    def do_read_fault(self, t, vmf: FileVmf):
        ops = VM_OPS[vmf.vma.ops]
        if ops.map_pages is not None and FAULT_AROUND_PAGES > 1:
            ret = yield from self.do_fault_around(t, vmf)
            if ret:
                return ret
        ret = yield from self._do_fault(t, vmf)
        if ret != VM_FAULT_LOCKED:
            return ret
        ret2 = yield from self.finish_fault(t, vmf)
        unlock_page(t, vmf.page)
        if ret2:  # VM_FAULT_NOPAGE: somebody else mapped it; drop our reference
            self.folio_put(vmf.page)
        return ret2 or ret

    def do_fault_around(self, t, vmf: FileVmf):
        vma = vmf.vma
        address = vmf.address
        nr_pages = FAULT_AROUND_PAGES
        vmf.address = max(address & ~(nr_pages - 1), vma.start)
        off = (address - vmf.address) & (PTRS - 1)
        start_pgoff = vmf.pgoff - off
        end_pgoff = start_pgoff - (vmf.address & (PTRS - 1)) + PTRS - 1
        end_pgoff = min(end_pgoff, vma.end - vma.start + vma.pgoff - 1, start_pgoff + nr_pages - 1)
        # the PTE table exists (pmd_none() is false): no prealloc_pte
        yield from VM_OPS[vma.ops].map_pages(self, t, vmf, start_pgoff, end_pgoff)
        ret = 0
        if vmf.pte is not None:  # ->map_pages took the PTL: did it map the faulting page?
            pte = Ptr(vmf.pte.pfn, index("pte", address), "pte")
            if self.deref(t, pte).kind != "none":
                ret = VM_FAULT_NOPAGE
                t.note(f"fault-around mapped the faulting page {address:#x}")
            self.pte_unmap_unlock(t, vmf.pte, vmf.ptl)
        vmf.address, vmf.pte, vmf.ptl = address, None, None
        return ret

    def _do_fault(self, t, vmf: FileVmf):
        return (yield from VM_OPS[vmf.vma.ops].fault(self, t, vmf))

    def finish_fault(self, t, vmf: FileVmf):
        ret = yield from self.alloc_set_pte(t, vmf, vmf.page)
        if vmf.pte is not None:
            self.pte_unmap_unlock(t, vmf.pte, vmf.ptl)
            vmf.pte = vmf.ptl = None
        return ret

    def alloc_set_pte(self, t, vmf: FileVmf, pfn: int):
        """Install a PTE for a locked page; the caller's reference becomes the mapping's."""
        if vmf.pte is None:
            yield from self.pte_alloc_one_map(t, vmf)
        yield "if (!pte_none(*vmf->pte)) ... set_pte_at()"
        pte = Ptr(vmf.pte.pfn, index("pte", vmf.address), "pte")
        vmf.pte = pte
        e = self.load(t, pte, "re-check *pte under the PTL")
        if e.kind != "none":
            return VM_FAULT_NOPAGE
        self.folio(pfn).mapcount += 1  # page_add_file_rmap()
        self.set_entry(pte, mk_leaf(pfn))
        t.note(f"set_pte_at: page {vmf.address:#x} -> pfn {pfn:#x}")
        return 0

    def pte_alloc_one_map(self, t, vmf: FileVmf):
        mm = self.s.mms[vmf.vma.mm]
        vmf.pte, vmf.ptl = yield from self.pte_offset_map_lock(t, mm, vmf.pmd, vmf.address)


# ---- 2007: do_no_page(), unmap_mapping_range(), vmtruncate() of v2.6.20 and v2.6.23 (race A) ----
# Sources: v2.6.20 mm/memory.c (sagsango/linux-2.6.20@027db5f3ba64); d00806b18315 as merged
# (akpm's "[patch 1/8] mm: fix fault vs invalidate race for linear mappings", 18 May 2007).

from mmfuzz.engine.task import inline  # noqa: E402
from mmfuzz.engine.violations import Bug  # noqa: E402
from mmfuzz.kernel.locking import PageLocked, down_write, lock_page, mutex_lock, mutex_unlock, unlock_page, up_write  # noqa: E402,F811,E501
from mmfuzz.kernel.mm.pgtable_generic import pte_offset_map_lock  # noqa: E402
from mmfuzz.model.pgtable import mk_leaf, pte_none  # noqa: E402,F811

# include/linux/mm.h (2.6.x)
NOPAGE_SIGBUS = "NOPAGE_SIGBUS"
VM_FAULT_MINOR = "VM_FAULT_MINOR"
VM_FAULT_SIGBUS_26 = "VM_FAULT_SIGBUS"
# how far the model follows the ->nopage fault path and the tree_lock page cache
END_OF_2007_MODEL = "v2.6.27"

do_no_page = code_path(
    "do_no_page", file="mm/memory.c",
    doc="2.6.x handle_mm_fault() -> handle_pte_fault() -> do_no_page() -> vma->vm_ops->nopage()")
vmtruncate = code_path(
    "vmtruncate", file="mm/memory.c",
    doc="do_truncate() under i_mutex -> vmtruncate(): i_size_write, unmap_mapping_range, truncate_inode_pages")


@pte_offset_map_lock.version("v2.6.15", since="v2.6.15",
                             models="v2.6.15 (split PTE locks) to v2.6.x: the include/linux/mm.h macro, "
                                    "pte_offset_map() + spin_lock(pte_lockptr(mm, pmd))")
class PteOffsetMapLockV2615(KernelCode):
    """pte_offset_map_lock(): the PTE table the PMD points to, and its lock; never fails."""

    def pte_offset_map_lock(self, t, mm, pmd: Ptr, addr: int):
        table = self.deref(t, pmd).pfn  # the PMD of a mapped VMA is stable under mmap_sem
        ptl = ptl_of_table(table)
        yield from spin_lock(t, ptl)
        return Ptr(table, index("pte", addr), "pte"), ptl

    def pte_unmap_unlock(self, t, pte: Ptr, ptl: str) -> None:
        spin_unlock(t, ptl)


@do_no_page.version("v2.6.20", since="v2.6.20",
                    racy="a fault maps a page that invalidate_inode_pages2_range() removes inside i_size (A.4)",
                    models="v2.6.20 mm/memory.c do_no_page(): the truncate_count seqlock against unmap_mapping_range()")
class DoNoPageV2620(KernelCode):
    """->nopage returns an unlocked page; only truncate_count, re-read under the PTL, says it went stale."""

    def handle_mm_fault(self, t, vma, address: int, write_access: bool):
        """Called with mmap_sem held for read, as do_page_fault() does."""
        mm = self.s.mms[vma.mm]
        # pud_alloc/pmd_alloc/pte_alloc_map: the tables of a mapped VMA exist here
        pmd = self.upper_offset(t, mm, address, "pmd")
        pte = self.offset(t, pmd, address)
        return (yield from self.handle_pte_fault(t, mm, vma, address, pte, pmd, write_access))

    def handle_pte_fault(self, t, mm, vma, address: int, pte: Ptr, pmd: Ptr, write_access: bool):
        yield "entry = *pte"
        entry = self.load(t, pte, "entry")
        if pte_none(entry):
            return (yield from self.do_no_page(t, mm, vma, address, pmd, write_access))
        if write_access and not entry.write:
            raise NotImplementedError("do_wp_page() is not modelled")
        return VM_FAULT_MINOR  # somebody mapped it already: the access retries

    def do_no_page(self, t, mm, vma, address: int, pmd: Ptr, write_access: bool):
        if "VM_PFNMAP" in vma.flags:
            raise Bug("BUG_ON(vma->vm_flags & VM_PFNMAP)")
        space = self.s.files[vma.file]
        yield "sequence = mapping->truncate_count"
        sequence = space.truncate_count  # smp_rmb(): read before i_size in ->nopage
        t.note(f"sequence = {sequence}")
        while True:  # retry:
            new_page = yield from VM_OPS[vma.ops].nopage(self, t, vma, address)
            if new_page == NOPAGE_SIGBUS:
                return VM_FAULT_SIGBUS_26
            anon = False
            if write_access and "VM_SHARED" not in vma.flags:  # early C-O-W break
                yield "copy_user_highpage(page, new_page, address, vma)"
                page = self.cow_copy(t, new_page)
                self.page_cache_release(new_page)
                new_page, anon = page, True
            pte, ptl = yield from self.pte_offset_map_lock(t, mm, pmd, address)
            if self.truncate_count_changed(space, sequence):
                t.note(f"truncate_count {sequence} -> {space.truncate_count}: retry")
                self.pte_unmap_unlock(t, pte, ptl)
                self.page_cache_release(new_page)
                yield "sequence = mapping->truncate_count"  # after cond_resched()
                sequence = space.truncate_count
                t.note(f"sequence = {sequence}")
                continue
            t.note(f"truncate_count == sequence ({sequence})")
            dirty_page = None
            if pte_none(self.deref(t, pte)):
                self.set_pte_and_rmap(t, vma, address, pte, new_page, write_access, anon)
                if not anon and write_access:
                    dirty_page = new_page
                    self.folio_get(dirty_page)
            else:  # one of our sibling threads was faster, back out
                self.page_cache_release(new_page)
            self.pte_unmap_unlock(t, pte, ptl)
            if dirty_page is not None:
                yield from self.set_page_dirty_balance(t, dirty_page)
            return VM_FAULT_MINOR

    def truncate_count_changed(self, space, sequence: int) -> bool:
        """`mapping && sequence != mapping->truncate_count`, read under the PTL."""
        return sequence != space.truncate_count

    def cow_copy(self, t, src: int) -> int:
        """alloc_page_vma() + copy_user_highpage(): a private anonymous copy."""
        pfn = self.s.mem.alloc(Folio(kind="anon", refcount=1, data=self.folio(src).data))
        t.note(f"anon page {pfn:#x} <- copy of {src:#x} ('{self.folio(src).data}')")
        return pfn

    def set_pte_and_rmap(self, t, vma, address: int, pte: Ptr, pfn: int, write_access: bool, anon: bool) -> None:
        """mk_pte(), maybe_mkwrite(pte_mkdirty()) on a write, set_pte_at(), then the rmap."""
        write = write_access and "VM_WRITE" in vma.flags
        self.set_entry(pte, mk_leaf(pfn, write=write, dirty=write_access))
        self.folio(pfn).mapcount += 1  # page_add_new_anon_rmap() / page_add_file_rmap()
        t.note(f"set_pte_at: page {address:#x} -> pfn {pfn:#x}"
               + (" (anon)" if anon else "") + (" [write]" if write else ""))

    def set_page_dirty_balance(self, t, pfn: int):
        yield "set_page_dirty_balance(dirty_page)"
        self.folio(pfn).flags.add("dirty")
        self.folio_put(pfn)  # put_page(dirty_page)


@do_no_page.version("v2.6.23", since="v2.6.23", commit="d00806b18315",
                    models="d00806b18315 'mm: fix fault vs invalidate race for linear mappings' (2.6.23-rc1): "
                           "->nopage returns the page locked; do_no_page() unlocks it after the PTE is set. "
                           "(The v2.6.23 release reaches the same protocol through ->fault/__do_fault.)")
class DoNoPageV2623(DoNoPageV2620):
    """The page stays locked from the lookup until the PTE is set; no truncate_count."""

    def do_no_page(self, t, mm, vma, address: int, pmd: Ptr, write_access: bool):
        if "VM_PFNMAP" in vma.flags:
            raise Bug("BUG_ON(vma->vm_flags & VM_PFNMAP)")
        nopage_page = yield from VM_OPS[vma.ops].nopage(self, t, vma, address)
        if nopage_page == NOPAGE_SIGBUS:
            return VM_FAULT_SIGBUS_26
        can_invalidate = "VM_CAN_INVALIDATE" in vma.flags
        if can_invalidate and not PageLocked(self.s, nopage_page):
            raise Bug("BUG_ON(vma->vm_flags & VM_CAN_INVALIDATE && !PageLocked(nopage_page))")
        if not can_invalidate:
            yield from lock_page(t, nopage_page)
        unlocked = self.unlock_before_mapping(t, nopage_page)
        page, anon = nopage_page, False
        if write_access and "VM_SHARED" not in vma.flags:
            # the pagecache page stays locked while the COW copy is mapped
            yield "copy_user_highpage(page, nopage_page, address, vma)"
            page, anon = self.cow_copy(t, nopage_page), True
        pte, ptl = yield from self.pte_offset_map_lock(t, mm, pmd, address)
        dirty_page = None
        release_nopage = anon
        if pte_none(self.deref(t, pte)):
            self.set_pte_and_rmap(t, vma, address, pte, page, write_access, anon)
            if not anon and write_access:
                dirty_page = page
                self.folio_get(dirty_page)
        elif anon:
            self.page_cache_release(page)
        else:
            release_nopage = True  # not anon, but release nopage_page
        self.pte_unmap_unlock(t, pte, ptl)
        if not unlocked:
            unlock_page(t, nopage_page)  # out:
        if release_nopage:
            self.page_cache_release(nopage_page)
        elif dirty_page is not None:
            yield from self.set_page_dirty_balance(t, dirty_page)
        return VM_FAULT_MINOR


    def unlock_before_mapping(self, t, pfn: int) -> bool:
        """The fix: nothing; the page stays locked until its PTE is set."""
        return False


@do_no_page.version("mutant-early-unlock",
                    models="Mutant: d00806b18315's do_no_page() with unlock_page() moved before the PTE is set")
class DoNoPageEarlyUnlock(DoNoPageV2623):
    """Mutant: the page lock no longer covers 'look up, then map': the 2.6.20 window reopens."""

    def unlock_before_mapping(self, t, pfn: int) -> bool:
        unlock_page(t, pfn)
        return True


do_no_page.retire(END_OF_2007_MODEL, "->nopage gave way to ->fault (__do_fault) in 2.6.23-2.6.26")


@unmap_mapping_range.version("v2.6.20", since="v2.6.16",
                             models="v2.6.20 mm/memory.c unmap_mapping_range(): i_mmap_lock (spinlock), "
                                    "truncate_count++ between smp_wmb() and smp_mb(), zap each VMA in range")
class UnmapMappingRangeV2620(KernelCode):
    """unmap_mapping_range(): truncate_count++ under i_mmap_lock, then zap the range in every VMA."""

    def unmap_mapping_range(self, t, mapping: str, holebegin: int, holelen: int, even_cows: bool):
        """holebegin/holelen in pages; holelen 0 means to the end of the file."""
        space = self.s.files[mapping]
        first = holebegin
        last = holebegin + holelen - 1 if holelen else 1 << 40
        # even_cows == 0 (invalidation): unmap shared pages, keep private COW copies
        details = ZapDetails(even_cows=even_cows, check_mapping=None if even_cows else mapping)
        yield from spin_lock(t, space.i_mmap_lock)
        space.truncate_count += 1  # "Protect against page faults, and endless unmapping loops"
        t.note(f"mapping->truncate_count = {space.truncate_count}")
        for mmi, vname in list(space.i_mmap):  # vma_prio_tree_foreach(first, last)
            vma = self.s.mms[mmi].find_vma(vname)
            vba, vea = vma.pgoff, vma.pgoff + (vma.end - vma.start) - 1
            zba, zea = max(first, vba), min(last, vea)
            if zba > zea:
                continue
            yield from self.unmap_mapping_range_vma(t, vma, vma.start + zba - vba,
                                                    vma.start + zea - vba + 1, details)
        spin_unlock(t, space.i_mmap_lock)

    def unmap_mapping_range_vma(self, t, vma, start_addr: int, end_addr: int, details):
        # vm_truncate_count restart bookkeeping: the model never breaks the lock
        yield from self.zap_page_range_single(t, vma, start_addr, end_addr - start_addr, details)


@unmap_mapping_range.version("v2.6.23", since="v2.6.23", commit="d00806b18315",
                             models="d00806b18315: no barriers around truncate_count++ (only unmap restart "
                                    "bookkeeping now); BUG_ON(!VM_CAN_INVALIDATE) in unmap_mapping_range_vma()")
class UnmapMappingRangeV2623(UnmapMappingRangeV2620):
    """As v2.6.20, and every VMA it zaps must be VM_CAN_INVALIDATE."""

    def unmap_mapping_range_vma(self, t, vma, start_addr: int, end_addr: int, details):
        if "VM_CAN_INVALIDATE" not in vma.flags:
            raise Bug("BUG_ON(!(vma->vm_flags & VM_CAN_INVALIDATE))")
        yield from self.zap_page_range_single(t, vma, start_addr, end_addr - start_addr, details)


@vmtruncate.version("v2.6.20", since="v2.6.20",
                    racy="with d00806b18315's do_no_page() (no truncate_count retry) one unmap is not enough: "
                         "a COW fault past its i_size check maps its copy after it (1 preemption)",
                    models="v2.6.20 mm/memory.c vmtruncate(): i_size_write, unmap_mapping_range(even_cows=1), "
                           "truncate_inode_pages; called under i_mutex (do_truncate -> notify_change)")
class VmtruncateV2620(KernelCode):
    """Shrink i_size first, then unmap (truncate_count++), then drop the pages."""

    def do_truncate(self, t, mapping: str, length: int):
        """fs/open.c do_truncate(): i_mutex around notify_change() -> inode_setattr() -> vmtruncate()."""
        space = self.s.files[mapping]
        yield from mutex_lock(t, space.i_mutex)
        ret = yield from self.vmtruncate(t, mapping, length)
        mutex_unlock(t, space.i_mutex)
        return ret

    def vmtruncate(self, t, mapping: str, offset: int):
        """offset in pages (page-aligned truncates: no partial page)."""
        space = self.s.files[mapping]
        if space.i_size < offset:
            raise NotImplementedError("expanding truncate is not modelled")
        yield "i_size_write(inode, offset)"
        space.i_size = offset
        t.note(f"i_size = {offset}")
        yield from self.vmtruncate_unmap(t, mapping, offset)
        yield from self.truncate_inode_pages(t, mapping, offset)
        yield from self.vmtruncate_unmap_again(t, mapping, offset)
        yield from self.truncate_blocks(t, mapping, offset)
        return 0

    @inline
    def vmtruncate_unmap(self, t, mapping: str, offset: int):
        # unmap_mapping_range(mapping, offset + PAGE_SIZE - 1, 0, 1): from page `offset` on
        yield from self.unmap_mapping_range(t, mapping, offset, 0, True)

    @inline
    def vmtruncate_unmap_again(self, t, mapping: str, offset: int):
        return
        yield

    def truncate_blocks(self, t, mapping: str, offset: int):
        """inode->i_op->truncate(): the blocks beyond the new size are freed."""
        yield "inode->i_op->truncate(inode)"
        disk = self.s.extra["disk"][mapping]
        for idx in [i for i in disk if i >= offset]:
            del disk[idx]


@vmtruncate.version("v2.6.23", since="v2.6.23", commit="d00806b18315",
                    models="d00806b18315 as merged: a second unmap_mapping_range() after truncate_inode_pages(), "
                           "for private pages COWed after the first")
class VmtruncateV2623(VmtruncateV2620):
    """unmap, truncate_inode_pages, unmap again: COWs made in between would survive otherwise."""

    @inline
    def vmtruncate_unmap_again(self, t, mapping: str, offset: int):
        yield from self.unmap_mapping_range(t, mapping, offset, 0, True)


@vmtruncate.version("rfc-jan2007",
                    racy="not a race: with no even_cows unmap left, a private COW page made before the truncate "
                         "survives it with 0 preemptions",
                    models="Nick Piggin's January 2007 RFC '[patch 3/7] mm: fix fault vs invalidate race for "
                           "linear mappings' (also the Feb 2007 posting, seed 001): vmtruncate() without unmap_mapping_range()")
class VmtruncateRfcJan2007(VmtruncateV2620):
    """i_size_write, then truncate_inode_pages() alone: vmtruncate()'s only even_cows=1 unmap is gone.

    truncate_inode_pages() unmaps only the pagecache pages it finds mapped (even_cows=0), so
    a private COW copy beyond the new EOF is never unmapped, however the CPUs interleave:
    a sequential bug, not a race. The race the merged second unmap closes is the other
    one: d00806b18315 with v2.6.20's single unmap (--with vmtruncate=v2.6.20 on v2.6.23).
    """

    @inline
    def vmtruncate_unmap(self, t, mapping: str, offset: int):
        return
        yield


vmtruncate.retire(END_OF_2007_MODEL, "not modelled after the 2007 race")


# Sources: v2.6.20 mm/memory.c and mm/madvise.c (sagsango/linux-2.6.20@5307b79f); 2.6.23.17
# mm/memory.c (zheharry/linux-sh4-2.6.23.17_stm23_A18B@883c445f97b8)
vmtruncate_range = code_path(
    "vmtruncate_range", file="mm/memory.c",
    doc="madvise(MADV_REMOVE) -> madvise_remove() -> vmtruncate_range(): punch a hole inside i_size (tmpfs)")


@vmtruncate_range.version("v2.6.20", since="v2.6.20",
                          racy="i_size does not change, so the truncate_count seqlock cannot tell a fault that "
                               "read the count after the unmap that its page is going (as with invalidation)",
                          models="v2.6.20 mm/memory.c vmtruncate_range(): i_mutex, i_alloc_sem (write), "
                                 "unmap_mapping_range(even_cows=1), truncate_inode_pages_range(), ->truncate_range()")
class VmtruncateRangeV2620(KernelCode):
    """Unmap the hole, drop its pages, let the filesystem free the rest; i_size unchanged."""

    def vmtruncate_range(self, t, mapping: str, offset: int, end: int):
        """Pages [offset, end], end inclusive (madvise_remove() passes the last byte)."""
        space = self.s.files[mapping]
        yield from mutex_lock(t, space.i_mutex)
        yield from down_write(t, space.i_alloc_sem)
        yield from self.unmap_mapping_range(t, mapping, offset, end - offset + 1, True)
        yield from self.truncate_inode_pages_range(t, mapping, offset, end)
        yield from self.vmtruncate_range_unmap_again(t, mapping, offset, end)
        yield from self.shmem_truncate_range(t, mapping, offset, end)  # inode->i_op->truncate_range()
        up_write(t, space.i_alloc_sem)
        mutex_unlock(t, space.i_mutex)
        return 0

    @inline
    def vmtruncate_range_unmap_again(self, t, mapping: str, offset: int, end: int):
        return
        yield


@vmtruncate_range.version("v2.6.23", since="v2.6.23", commit="d00806b18315",
                          models="d00806b18315 as merged: a second unmap_mapping_range(even_cows=1) after "
                                 "truncate_inode_pages_range() (read in 2.6.23.17)")
class VmtruncateRangeV2623(VmtruncateRangeV2620):
    """unmap, truncate_inode_pages_range, unmap again, ->truncate_range."""

    @inline
    def vmtruncate_range_unmap_again(self, t, mapping: str, offset: int, end: int):
        yield from self.unmap_mapping_range(t, mapping, offset, end - offset + 1, True)


vmtruncate_range.retire(END_OF_2007_MODEL, "not modelled after the 2007 race")
# ---- protection mutants of the 2007 versions (mmfuzz mutate) -------------------------

@do_no_page.version("no-truncate-count-recheck", mutant=True,
                    models="v2.6.20 do_no_page() without its re-read of truncate_count under the PTL")
class DoNoPageNoSeqRecheck(DoNoPageV2620):
    """Mutant: the seqlock's read side never retries: a page truncated meanwhile is mapped."""

    def truncate_count_changed(self, space, sequence: int) -> bool:
        return False


@vmtruncate.version("no-second-unmap", mutant=True,
                    models="d00806b18315's vmtruncate() without the unmap_mapping_range() after truncate_inode_pages()")
class VmtruncateNoSecondUnmap(VmtruncateV2623):
    """Mutant: unmap, truncate_inode_pages, and no second unmap for COWs made in between."""

    @inline
    def vmtruncate_unmap_again(self, t, mapping: str, offset: int):
        return
        yield

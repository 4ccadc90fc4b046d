"""The 2026 pagewalk race on a device-DAX PUD (v4.11 .. v6.14): walk_page_vma() (reading
numa_maps) zaps a devmap PUD with split_huge_pud() while a page fault re-installs it.

The PUD leaf maps pmem, which is in the direct map: walk_pmd_range() reading the
refaulted leaf's pfn as a PMD table does not fault, as the VFIO BAR (MMIO) does. The
walk silently reads pmem contents as page-table entries: the "no-mis-walk" invariant
breaks where no oops would show it. Actors: numa_maps readers of the DAX VMA; user
faults on it; a walker with a .pte_entry over it, which splits DAX PMDs.
"""

from __future__ import annotations

from mmfuzz.engine.scenario import Actor, Scenario, scenario
from mmfuzz.engine.versions import UnknownName
from mmfuzz.engine.violations import InvariantBroken
from mmfuzz.kernel.drivers.dax.device import DevDax
from mmfuzz.kernel.locking import down_read, up_read
from mmfuzz.model.mm import Vma, get, new_mm, put, slot
from mmfuzz.model.pagecache import AddressSpace
from mmfuzz.model.pgtable import HPAGE_PMD_NR, HPAGE_PUD_NR, mk_leaf
from mmfuzz.model.state import State
from mmfuzz.scenarios.pagewalk import pte_walker_of

# import for registration of the code paths this scenario runs
import mmfuzz.kernel.fs.proc.task_mmu  # noqa: F401,E402
import mmfuzz.kernel.mm.pgtable_generic  # noqa: F401,E402
import mmfuzz.kernel.mm.pagewalk  # noqa: F401,E402

DAX = "dax0"


def numa_maps_reader(k, t, s):
    return k.show_numa_map(t, s.mm.find_vma(DAX), t.seen.setdefault("counted", []))


def dax_fault(k, t, s):
    def do_user_addr_fault():
        """arch/x86/mm/fault.c: a user access to the mapping, with lock_mm_and_find_vma()
        (mmap_lock read); the per-VMA-lock path excludes the walker no more than that."""
        vma = s.mm.find_vma(DAX)
        yield from down_read(t, s.mm.mmap_lock)
        yield from k.handle_mm_fault(t, vma, vma.start)
        up_read(t, s.mm.mmap_lock)
    return do_user_addr_fault()


@scenario
class PagewalkDaxScenario(Scenario):
    name = "pagewalk-dax"
    doc = "walk_page_vma() (numa_maps) vs a page fault re-installing a device-DAX devmap PUD/PMD (v4.11..v6.14)"
    paths: tuple[str, ...] = ("walk_page_range", "split_huge_pud", "split_huge_pmd", "handle_mm_fault",
                              "dev_dax_huge_fault", "show_numa_map", "pte_offset_map_lock")
    actors: tuple[Actor, ...] = (
        Actor("numa_maps", "numa_maps reader", numa_maps_reader, min=0, max=2),
        Actor("dax_fault", "DAX page fault", dax_fault, min=0, max=2),
        Actor("pte_walker", "pte_entry walker", pte_walker_of(DAX), min=0, max=1),
    )
    racy_on: tuple = ({"kernel": "v6.12"},)
    # the backported fix (138ada1337b4 in 6.12.84) rests on its one pudp_get() snapshot:
    # with two loads, a second walker's zap between them sends the walk through a none
    # PUD, to physical page 0 (reported as an oops, as in the pagewalk scenario)
    clean_on: tuple = ({"kernel": "v6.12", "overrides": {"walk_page_range": "3b89863c3fa4"},
                        "rests_on": {"walk_page_range=two-loads": "no-illegal-read"}},)
    explore_with: tuple = ({"numa_maps": 1, "dax_fault": 1}, {"numa_maps": 2, "dax_fault": 2},
                           {"pte_walker": 1, "dax_fault": 1})
    params = {
        # dev_dax->align: "pud" (1 GiB: PUD leaves) or "pmd" (2 MiB: the PUD fault falls
        # back, PMD leaves in a PMD table)
        "dax_align": ["pud", "pmd"],
        # the mapping was touched before the actors start
        "prefaulted": [True, False],
    }

    def initial_state(self, k, params):
        if not k.pud_huge(mk_leaf(0, devmap=True)):
            # a --with of this driver onto v6.17 or later: those kernels have no devmap
            # bit to test, and a devmap leaf in their page tables means nothing
            raise UnknownName("no devmap PUDs in this kernel's split_huge_pud (d438d2734170, v6.17): "
                              "device DAX there maps folios (not modelled)")
        s = State()
        mem = s.mem
        mm = new_mm(mem)
        s.mms.append(mm)
        pmem = mem.add_iomem(DAX, HPAGE_PUD_NR, align=HPAGE_PUD_NR, direct_map=True)
        align = HPAGE_PUD_NR if params["dax_align"] == "pud" else HPAGE_PMD_NR
        s.devices[DAX] = DevDax(DAX, pmem.base, pmem.npages, align)
        if align == HPAGE_PUD_NR:
            vma = Vma(DAX, HPAGE_PUD_NR, 2 * HPAGE_PUD_NR, pgoff=0)
        else:  # two 2 MiB pieces in one PUD
            vma = Vma(DAX, HPAGE_PUD_NR + HPAGE_PMD_NR, HPAGE_PUD_NR + 3 * HPAGE_PMD_NR, pgoff=HPAGE_PMD_NR)
        # dax_mmap(): VM_HUGEPAGE; a shared mapping (check_vma() refuses private ones);
        # no VM_PFNMAP/VM_MIXEDMAP since e1fb4a086495 (v4.19): vma_is_dax() tells it apart
        vma.flags = frozenset({"VM_SHARED", "VM_MAYSHARE", "VM_HUGEPAGE"})
        vma.ops, vma.file = "dev_dax", DAX
        mm.vmas.append(vma)
        # dax_open(): the inode is S_DAX
        s.files[DAX] = AddressSpace(DAX, i_size=pmem.npages, i_mmap=[(0, DAX)], dax=True)
        pud = slot(mem, mm, vma.start, "pud", create=True)
        if params["prefaulted"]:
            if align == HPAGE_PUD_NR:
                put(mem, pud, mk_leaf(pmem.base + vma.pgoff, devmap=True))
            else:
                for addr in range(vma.start, vma.end, HPAGE_PMD_NR):
                    put(mem, slot(mem, mm, addr, "pmd", create=True),
                        mk_leaf(pmem.base + vma.pgoff + addr - vma.start, devmap=True))
        return s

    def invariants(self, run):
        mis = run.state.extra.get("mis_walks")
        if mis:
            raise InvariantBroken("no-mis-walk", mis[0])

    def describe(self, run):
        s = run.state
        vma = s.mm.find_vma(DAX)
        pud = get(s.mem, slot(s.mem, s.mm, vma.start, "pud"))
        return f"device DAX {vma.name} [{vma.start:#x}, {vma.end:#x}): *pud = {pud}"


__all__ = ["PagewalkDaxScenario"]

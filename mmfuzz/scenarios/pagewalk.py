"""2026: walk_page_vma() (reading numa_maps) splits a special PUD pfnmap of a VFIO BAR
while a VFIO huge fault re-installs it.

A process maps a VFIO BAR (VM_PFNMAP, huge faults allowed) and has an anonymous VMA
mapped by the huge zero folio. Actors: numa_maps readers walking the BAR VMA; DMA-map
faults (vaddr_get_pfns -> handle_mm_fault) on the BAR; a BAR zap (memory disable or
reset); a walker with a .pte_entry over the anonymous VMA.
"""

from __future__ import annotations

from mmfuzz.engine.scenario import Actor, Scenario, scenario
from mmfuzz.engine.violations import InvariantBroken
from mmfuzz.kernel.drivers.vfio.pci.vfio_pci_core import VfioDevice
from mmfuzz.kernel.locking import down_read, up_read
from mmfuzz.kernel.mm.pagewalk import MmWalkOps
from mmfuzz.model.memory import Folio
from mmfuzz.model.mm import Vma, get, new_mm, put, slot, translate
from mmfuzz.model.pagecache import AddressSpace
from mmfuzz.model.pgtable import HPAGE_PMD_NR, HPAGE_PUD_NR, PMD_ORDER, mk_leaf, mk_table
from mmfuzz.model.state import State

# import for registration of the code paths this scenario runs
import mmfuzz.kernel.drivers.vfio.vfio_iommu_type1  # noqa: F401,E402
import mmfuzz.kernel.fs.proc.task_mmu  # noqa: F401,E402
import mmfuzz.kernel.mm.pgtable_generic  # noqa: F401,E402

BAR_VMA = "bar0"
ANON_VMA = "anon"
DEVICE = "vfio0"


def numa_maps_reader(k, t, s):
    return k.show_numa_map(t, s.mm.find_vma(BAR_VMA), t.seen.setdefault("counted", []))


def dma_map_fault(k, t, s):
    vma = s.mm.find_vma(BAR_VMA)
    return k.vaddr_get_pfns(t, vma, vma.start)


def bar_zapper(k, t, s):
    def zap():
        vdev = s.devices[DEVICE]
        yield from k.vfio_pci_zap_and_down_write_memory_lock(t, vdev)
        s.extra["bar_zaps"] = s.extra.get("bar_zaps", 0) + 1  # the BAR was disabled meanwhile
        k.vfio_pci_memory_unlock(t, vdev)
    return zap()


def _record_pte(k, t, pte, addr, end, walk):
    """.pte_entry: note every page mapped by a present PTE (read under the PTL)."""
    if k.deref(t, pte).kind != "none":
        walk.private.add(addr)
    return 0
    yield  # a generator, like every callback


PTE_WALK_OPS = MmWalkOps("pte_walk_ops", pte_entry=_record_pte)


def pte_walker(k, t, s):
    def walk_anon_vma_ptes():
        vma = s.mm.find_vma(ANON_VMA)
        visited = t.seen.setdefault("visited", set())
        yield from down_read(t, s.mm.mmap_lock)
        yield from k.walk_page_vma(t, vma, PTE_WALK_OPS, visited)
        up_read(t, s.mm.mmap_lock)
    return walk_anon_vma_ptes()


def pte_walker_of(vma_name: str):
    """An actor: a walker with a .pte_entry over one VMA, under mmap_lock (read)."""
    def start(k, t, s):
        def walk_vma_ptes():
            yield from down_read(t, s.mm.mmap_lock)
            yield from k.walk_page_vma(t, s.mm.find_vma(vma_name), PTE_WALK_OPS, set())
            up_read(t, s.mm.mmap_lock)
        return walk_vma_ptes()
    return start


bar_pte_walker = pte_walker_of(BAR_VMA)


def mapped_pages(s: State, vma: Vma) -> set[int]:
    return {a for a in range(vma.start, vma.end) if translate(s.mem, s.mm, a) is not None}


@scenario
class PagewalkScenario(Scenario):
    name = "pagewalk"
    doc = "walk_page_vma() (numa_maps) vs VFIO huge faults and BAR zaps on a PUD/PMD pfnmap (2026)"
    paths: tuple[str, ...] = ("walk_page_range", "split_huge_pud", "split_huge_pmd", "huge_zero_pmd",
             "handle_mm_fault", "vfio_pci_mmap_huge_fault", "vaddr_get_pfns", "show_numa_map",
             "zap_page_range", "unmap_mapping_range", "pte_offset_map_lock", "follow_pfnmap_start")
    actors: tuple[Actor, ...] = (
        Actor("numa_maps", "numa_maps reader", numa_maps_reader, min=0, max=2),
        Actor("vfio_fault", "VFIO DMA-map fault", dma_map_fault, min=0, max=2),
        Actor("vfio_zap", "vfio_pci_zap_bars", bar_zapper, min=0, max=1),
        Actor("pte_walker", "pte_entry walker", pte_walker, min=0, max=1),
        Actor("bar_pte_walker", "pte_entry walker of the BAR", bar_pte_walker, min=0, max=1),
    )
    racy_on: tuple = ({"kernel": "v6.12"}, {"kernel": "v7.0-rc2"},
               {"kernel": "v7.0-rc2", "overrides": {"walk_page_range": "rfc-skip-special"}},
               {"kernel": "v7.0-rc2", "overrides": {"walk_page_range": "maxq-leaf-recheck"}})
    # the fix rests on its single pudp_get() snapshot; every lock's critical section
    # here is one atomic step, so eliding a lock changes nothing (mmfuzz mutate)
    _SNAPSHOT = {"walk_page_range=two-loads": "no-illegal-read"}
    clean_on: tuple = ({"kernel": "v7.0", "rests_on": _SNAPSHOT},
                {"kernel": "v6.12", "overrides": {"walk_page_range": "3b89863c3fa4"}, "rests_on": _SNAPSHOT})
    explore_with: tuple = ({"numa_maps": 1, "vfio_fault": 1, "vfio_zap": 1, "pte_walker": 1},
                    {"numa_maps": 2, "vfio_fault": 2}, {"bar_pte_walker": 1, "vfio_fault": 1})
    params = {
        # "pud": the BAR VMA is 1 GiB aligned (PUD leaves); "pmd": only 2 MiB (PMD leaves)
        "bar_align": ["pud", "pmd"],
        # the BAR was faulted in before the actors start (the DMA map of an earlier VM)
        "prefaulted": [True, False],
    }

    def initial_state(self, k, params):
        s = State()
        mem = s.mem
        mm = new_mm(mem)
        s.mms.append(mm)
        bar = mem.add_iomem(DEVICE, HPAGE_PUD_NR, align=HPAGE_PUD_NR)
        s.devices[DEVICE] = VfioDevice(DEVICE, bar.base, bar.npages)
        if params["bar_align"] == "pud":
            vma = Vma(BAR_VMA, HPAGE_PUD_NR, 2 * HPAGE_PUD_NR, pgoff=0)
        else:  # two PMDs inside one PUD: the PUD-order fault falls back
            vma = Vma(BAR_VMA, HPAGE_PUD_NR + HPAGE_PMD_NR, HPAGE_PUD_NR + 3 * HPAGE_PMD_NR,
                      pgoff=HPAGE_PMD_NR)
        vma.flags = frozenset({"VM_PFNMAP", "VM_IO", "VM_SHARED", "VM_DONTEXPAND"})
        vma.ops, vma.file = "vfio_pci", DEVICE
        mm.vmas.append(vma)
        s.files[DEVICE] = AddressSpace(DEVICE, i_size=bar.npages, i_mmap=[(0, BAR_VMA)])
        pud = slot(mem, mm, vma.start, "pud", create=True)
        if params["prefaulted"]:
            if params["bar_align"] == "pud":
                put(mem, pud, mk_leaf(bar.base + vma.pgoff, special=True))
            else:  # two PMD pfnmaps in one PMD table
                for addr in range(vma.start, vma.end, HPAGE_PMD_NR):
                    pmd = slot(mem, mm, addr, "pmd", create=True)
                    put(mem, pmd, mk_leaf(bar.base + vma.pgoff + addr - vma.start, special=True))
        # an anonymous VMA mapped by the huge zero folio (a read fault on fresh anon memory)
        s.extra["zero_pfn"] = mem.alloc(Folio(kind="zero", refcount=1 << 20))
        s.extra["huge_zero_pfn"] = mem.alloc(Folio(kind="zero", order=PMD_ORDER, refcount=1 << 20),
                                             HPAGE_PMD_NR)
        anon = Vma(ANON_VMA, 2 * HPAGE_PUD_NR, 2 * HPAGE_PUD_NR + HPAGE_PMD_NR,
                   flags=frozenset({"anon", "VM_READ"}))
        mm.vmas.append(anon)
        put(mem, slot(mem, mm, anon.start, "pmd", create=True), k.mk_huge_zero_pmd(s.extra["huge_zero_pfn"]))
        s.extra["anon_mapped_at_start"] = frozenset(mapped_pages(s, anon))
        return s

    def on_finish(self, run, task):
        if task.kind != "pte_walker":
            return
        s = run.state
        anon = s.mm.find_vma(ANON_VMA)
        expected = s.extra["anon_mapped_at_start"] & mapped_pages(s, anon)
        missing = sorted(expected - task.seen.get("visited", set()))
        if missing:
            pmd = get(s.mem, slot(s.mem, s.mm, anon.start, "pmd"))
            raise InvariantBroken(
                "walk-completeness",
                f"{task.title} never called .pte_entry for {len(missing)} mapped page(s) "
                f"{missing[0]:#x}..{missing[-1]:#x} (the PMD there is {pmd})")

    def describe(self, run):
        s = run.state
        vma = s.mm.find_vma(BAR_VMA)
        pud = get(s.mem, slot(s.mem, s.mm, vma.start, "pud"))
        return f"BAR {vma.name} [{vma.start:#x}, {vma.end:#x}): *pud = {pud}"


__all__ = ["PagewalkScenario", "mk_table"]

"""2026, Max's EINVAL: after the pagewalk fix, VFIO_IOMMU_MAP_DMA sometimes failed with
EINVAL where the numa_maps reader used to crash (seed 002).

vaddr_get_pfns() -> follow_fault_pfn() looks the BAR's pfn up (follow_pfnmap_start()),
faults it in when it is absent (fixup_user_fault()) and looks it up once more; a
walker's split_huge_pud() between the fault and the second lookup zaps the fresh PUD
leaf, and the second lookup fails. Same machine as the pagewalk scenario; the invariant
is the DMA map's.
"""

from __future__ import annotations

from mmfuzz.engine.scenario import scenario
from mmfuzz.engine.violations import InvariantBroken
from mmfuzz.scenarios.pagewalk import BAR_VMA, DEVICE, PagewalkScenario

ERRNO = {-22: "EINVAL", -14: "EFAULT"}


@scenario
class VfioDmaMapScenario(PagewalkScenario):
    name = "vfio-dma-map"
    doc = "VFIO_IOMMU_MAP_DMA of a BAR vs a numa_maps walker's PUD split: the map fails with EINVAL (2026)"
    actors = tuple(a for a in PagewalkScenario.actors if a.kind in ("numa_maps", "vfio_fault", "vfio_zap"))
    # a walker's split between the fault and the second lookup, on every version modelled
    # (v6.12 itself reaches it too, but its walker oopses first: see the tests); neither
    # fix, of the walker (3b89863c3fa4) or of follow_pfnmap_start (ffef67b93aa3), helps
    racy_on = ({"kernel": "v7.0"},
               {"kernel": "v7.0", "overrides": {"follow_pfnmap_start": "v6.12"}},
               {"kernel": "v6.12", "overrides": {"walk_page_range": "3b89863c3fa4"}})
    clean_on = ()
    explore_with = ({"numa_maps": 1, "vfio_fault": 1},)
    params = {"bar_align": ["pud", "pmd"], "prefaulted": [False, True]}

    def on_finish(self, run, task):
        if task.kind != "vfio_fault":
            return
        s = run.state
        vma = s.mm.find_vma(BAR_VMA)
        vdev = s.devices[DEVICE]
        want = vdev.bar_base + vma.pgoff
        # only a DMA map that no BAR zap (memory disable, reset) overlapped must succeed
        if task.result != want and vdev.memory_enabled and not s.extra.get("bar_zaps"):
            got = ERRNO.get(task.result, task.result)
            raise InvariantBroken(
                "dma-map-gets-its-pfn",
                f"{task.title}: VFIO_IOMMU_MAP_DMA of the enabled BAR returns {got} "
                f"instead of pfn {want:#x}: the pfn it faulted in was gone at the second lookup")


__all__ = ["VfioDmaMapScenario"]

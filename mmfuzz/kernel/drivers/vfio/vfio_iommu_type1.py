"""drivers/vfio/vfio_iommu_type1.c: VFIO_IOMMU_MAP_DMA pins BAR pages by faulting them in."""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, up_read

vaddr_get_pfns = code_path(
    "vaddr_get_pfns", file="drivers/vfio/vfio_iommu_type1.c",
    doc="vaddr_get_pfns() -> follow_fault_pfn() -> fixup_user_fault() -> handle_mm_fault(), under mmap_lock (read)")


@vaddr_get_pfns.version("v6.12", since="v6.12", models="v6.12 vfio_pin_pages_remote() on a VM_PFNMAP BAR mapping")
class VaddrGetPfnsV612(KernelCode):
    """The DMA-map ioctl faults the BAR in through fixup_user_fault()."""

    def vaddr_get_pfns(self, t, vma, vaddr: int):
        mm = self.s.mms[vma.mm]
        yield from down_read(t, mm.mmap_lock)  # mmap_read_lock() in vaddr_get_pfns()
        # follow_fault_pfn(): fixup_user_fault() -> handle_mm_fault()
        ret = yield from self.handle_mm_fault(t, vma, vaddr)
        up_read(t, mm.mmap_lock)
        return ret

"""drivers/vfio/vfio_iommu_type1.c: VFIO_IOMMU_MAP_DMA pins BAR pages by faulting them in."""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, up_read
from mmfuzz.kernel.mm.huge_memory import VM_FAULT_SIGBUS
from mmfuzz.kernel.mm.memory import FollowPfnmapArgs

vaddr_get_pfns = code_path(
    "vaddr_get_pfns", file="drivers/vfio/vfio_iommu_type1.c",
    doc="vaddr_get_pfns() -> follow_fault_pfn(): follow_pfnmap_start(), fixup_user_fault(), "
        "follow_pfnmap_start() again, under mmap_lock (read)")

EINVAL, EFAULT, EAGAIN = -22, -14, -11


@vaddr_get_pfns.version("v6.12", since="v6.12",
                        models="v6.12 vfio_pin_pages_remote() -> vaddr_get_pfns() on a VM_PFNMAP BAR mapping "
                               "(pin_user_pages_remote() fails on VM_PFNMAP and is not modelled)")
class VaddrGetPfnsV612(KernelCode):
    """Look the pfn up; if absent, fault the BAR in and look it up once more."""

    def vaddr_get_pfns(self, t, vma, vaddr: int):
        """The pfn the DMA map gets, or a negative errno (what the ioctl returns)."""
        mm = self.s.mms[vma.mm]
        yield from down_read(t, mm.mmap_lock)  # mmap_read_lock() in vaddr_get_pfns()
        while True:  # retry: vma_lookup() finds the same VM_PFNMAP vma
            ret = yield from self.follow_fault_pfn(t, vma, vaddr)
            if ret != EAGAIN:
                break
        up_read(t, mm.mmap_lock)
        return ret

    def follow_fault_pfn(self, t, vma, vaddr: int):
        # a read-only DMA map: no FAULT_FLAG_WRITE, no args.writable check
        args = FollowPfnmapArgs(vma, vaddr)
        ret = yield from self.follow_pfnmap_start(t, args)
        if ret:
            t.note("follow_pfnmap_start: -EINVAL, fault it in")
            ret = yield from self.fixup_user_fault(t, vma, vaddr)
            if ret:
                return ret
            ret = yield from self.follow_pfnmap_start(t, args)
            if ret:
                t.note("follow_pfnmap_start after the fault: -EINVAL")
                return ret
        pfn = args.pfn
        self.follow_pfnmap_end(t, args)
        return pfn

    def fixup_user_fault(self, t, vma, address: int):
        """mm/gup.c: handle_mm_fault() with FAULT_FLAG_REMOTE; never drops mmap_lock here."""
        ret = yield from self.handle_mm_fault(t, vma, address)
        return EFAULT if ret == VM_FAULT_SIGBUS else 0

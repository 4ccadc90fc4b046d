"""drivers/vfio/pci/vfio_pci_core.c: BAR mmap faults (huge pfnmaps) and BAR zaps."""

from __future__ import annotations

import attrs

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, down_write, up_read, up_write
from mmfuzz.kernel.mm.huge_memory import VM_FAULT_FALLBACK, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS
from mmfuzz.kernel.mm.memory import VM_OPS, VmOperations
from mmfuzz.model.pgtable import PMD_ORDER, PUD_ORDER

vfio_pci_mmap_huge_fault = code_path(
    "vfio_pci_mmap_huge_fault", file="drivers/vfio/pci/vfio_pci_core.c",
    doc="vfio_pci_mmap_huge_fault(): insert a PUD/PMD special pfnmap of the BAR; vfio_pci_zap_bars()")


@attrs.define
class VfioDevice:
    name: str
    bar_base: int  # first pfn of the BAR
    bar_pages: int
    memory_enabled: bool = True
    pm_runtime_engaged: bool = False

    @property
    def memory_lock(self) -> str:
        return f"{self.name}.memory_lock"


@vfio_pci_mmap_huge_fault.version("v6.12", since="v6.12", commit="f9e54c3a2f5b",
                                  models="f9e54c3a2f5b 'vfio/pci: implement huge_fault support' (v6.12)")
class VfioPciHugeFaultV612(KernelCode):
    """Huge faults on a BAR mapping: PFN_DEV without PFN_MAP, so the leaf is pud/pmd_special."""

    def vfio_pci_mmap_huge_fault(self, t, vmf, order: int):
        vma = vmf.vma
        vdev = self.s.devices[vma.file]
        pgoff = vmf.pgoff - vma.pgoff
        pfn = vdev.bar_base + vma.pgoff + pgoff
        if self.vfio_huge_fault_must_fall_back(vmf, order, pfn):
            return VM_FAULT_FALLBACK
        yield from down_read(t, vdev.memory_lock)
        ret = VM_FAULT_SIGBUS
        if not vdev.pm_runtime_engaged and vdev.memory_enabled:
            if order == PUD_ORDER:
                yield from self.insert_pfn_pud(t, vma, vmf.address, vmf.pud, pfn, devmap=False, write=False)
                ret = VM_FAULT_NOPAGE
            elif order == PMD_ORDER:
                yield from self.insert_pfn_pmd(t, vma, vmf.address, vmf.pmd, pfn, devmap=False, write=False)
                ret = VM_FAULT_NOPAGE
            else:
                ret = VM_FAULT_FALLBACK
        up_read(t, vdev.memory_lock)
        return ret

    def vfio_huge_fault_must_fall_back(self, vmf, order: int, pfn: int) -> bool:
        """f9e54c3a2f5b checks only the address: misaligned, or past vm_end."""
        size = 1 << order
        return bool(order and (vmf.address & (size - 1) or vmf.address + size > vmf.vma.end))

    def vfio_pci_zap_and_down_write_memory_lock(self, t, vdev):
        yield from down_write(t, vdev.memory_lock)
        yield from self.vfio_pci_zap_bars(t, vdev)

    def vfio_pci_zap_bars(self, t, vdev):
        # unmap_mapping_range(vdev->vdev.inode->i_mapping, BAR0 .. ROM, true)
        yield from self.unmap_mapping_range(t, vdev.name, 0, vdev.bar_pages, True)

    def vfio_pci_memory_unlock(self, t, vdev):
        up_write(t, vdev.memory_lock)


@vfio_pci_mmap_huge_fault.version("09dfc8a5f2ce", since="v6.13", commit="09dfc8a5f2ce",
                                  models="09dfc8a5f2ce 'vfio/pci: Fallback huge faults for unaligned pfn' "
                                         "(Alex Williamson, Jan 2025, v6.13; in 6.12-stable since Jan 2025)")
class VfioPciHugeFaultAlignedPfn(VfioPciHugeFaultV612):
    """Also fall back when the pfn is not aligned to the fault order."""

    def vfio_huge_fault_must_fall_back(self, vmf, order: int, pfn: int) -> bool:
        size = 1 << order
        return bool(order and pfn & (size - 1)) or super().vfio_huge_fault_must_fall_back(vmf, order, pfn)


VM_OPS["vfio_pci"] = VmOperations("vfio_pci_mmap_ops", huge_fault="vfio_pci_mmap_huge_fault")

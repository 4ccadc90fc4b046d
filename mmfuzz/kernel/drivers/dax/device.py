"""drivers/dax/device.c: huge faults on a device-DAX mapping (/dev/daxX.Y) of pmem.

Until v6.14 the fault maps the pmem pfn with PFN_DEV|PFN_MAP: vmf_insert_pfn_pud()
makes a devmap PUD leaf (pud_devmap(), not pud_trans_huge()), vmf_insert_pfn_pmd() a
devmap PMD leaf. pmem is ZONE_DEVICE memory that memremap_pages() (dev_dax_probe())
puts in the direct map.
"""

from __future__ import annotations

import attrs

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.mm.huge_memory import VM_FAULT_FALLBACK, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS
from mmfuzz.kernel.mm.memory import VM_OPS, VmOperations
from mmfuzz.model.pgtable import HPAGE_PMD_NR, HPAGE_PUD_NR, PMD_ORDER, PUD_ORDER

dev_dax_huge_fault = code_path(
    "dev_dax_huge_fault", file="drivers/dax/device.c",
    doc="dev_dax_huge_fault() -> __dev_dax_pud_fault()/__dev_dax_pmd_fault(): map a device-DAX "
        "region's pmem with devmap PUD/PMD leaves")


@attrs.define
class DevDax:
    """struct dev_dax: one range of pmem, mapped in units of `align` pages."""

    name: str
    base: int  # first pfn of the range
    npages: int
    align: int  # dev_dax->align, in pages: HPAGE_PUD_NR (1 GiB) or HPAGE_PMD_NR (2 MiB)
    alive: bool = True  # dax_alive(): cleared by kill_dax() when the device goes away


@dev_dax_huge_fault.version("v4.11", since="v4.11",
                            models="device DAX since Dave Jiang's 'dax: Support for transparent PUD pages "
                                   "for device DAX' (v4.11, with a00cc7d9dd93) to v6.14: the pfn carries "
                                   "PFN_DEV|PFN_MAP, so insert_pfn_pud()/insert_pfn_pmd() make devmap leaves")
class DevDaxHugeFaultV411(KernelCode):
    """A PUD (PMD) fault maps one align-sized, aligned piece of the range, or falls back."""

    def dev_dax_huge_fault(self, t, vmf, order: int):
        dev_dax = self.s.devices[vmf.vma.file]
        # dax_read_lock() is SRCU: it only holds kill_dax() off, no fault or walker
        if order == PUD_ORDER:  # __dev_dax_pud_fault()
            ret, pfn = self.dev_dax_fault_pfn(dev_dax, vmf, HPAGE_PUD_NR)
            if not ret:
                # vmf_insert_pfn_pud(vmf, phys_to_pfn_t(phys, PFN_DEV|PFN_MAP), write)
                yield from self.insert_pfn_pud(t, vmf.vma, vmf.address, vmf.pud, pfn, devmap=True, write=False)
        elif order == PMD_ORDER:  # __dev_dax_pmd_fault()
            ret, pfn = self.dev_dax_fault_pfn(dev_dax, vmf, HPAGE_PMD_NR)
            if not ret:
                yield from self.insert_pfn_pmd(t, vmf.vma, vmf.address, vmf.pmd, pfn, devmap=True, write=False)
        else:  # __dev_dax_pte_fault(): SIGBUS when dev_dax->align > PAGE_SIZE, as here
            ret = VM_FAULT_SIGBUS
        # (page->mapping of the pmem pages, set on NOPAGE or by dax_set_mapping(), is not modelled)
        return ret or VM_FAULT_NOPAGE

    def dev_dax_fault_pfn(self, dev_dax, vmf, fault_size: int):
        """The checks __dev_dax_pud_fault() and __dev_dax_pmd_fault() share, then
        dax_pgoff_to_phys(): (0, the pfn to map) or (a VM_FAULT_* code, None)."""
        vma = vmf.vma
        if not dev_dax.alive or not self.vma_is_dax(vma):  # check_vma()
            return VM_FAULT_SIGBUS, None
        if dev_dax.align > fault_size:
            return VM_FAULT_SIGBUS, None
        if fault_size > dev_dax.align:
            return VM_FAULT_FALLBACK, None
        start = vmf.address & ~(fault_size - 1)
        if start < vma.start or start + fault_size > vma.end:  # outside of the VMA
            return VM_FAULT_SIGBUS, None
        pgoff = vma.pgoff + (start - vma.start)  # linear_page_index()
        if pgoff + fault_size > dev_dax.npages:  # dax_pgoff_to_phys() == -1
            return VM_FAULT_SIGBUS, None
        return 0, dev_dax.base + pgoff


# dax_vm_ops: .fault = dev_dax_fault (the PTE case), .huge_fault = dev_dax_huge_fault
VM_OPS["dev_dax"] = VmOperations("dax_vm_ops", huge_fault="dev_dax_huge_fault")

dev_dax_huge_fault.retire(
    "v6.15", "aed877c2b425 'device/dax: properly refcount device dax pages when mapping' (v6.15) maps "
             "refcounted folios with vmf_insert_folio_pud()/vmf_insert_folio_pmd(): no devmap leaves, "
             "and the folio mapping is not modelled")

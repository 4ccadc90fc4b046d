"""mm/madvise.c: madvise(MADV_DONTNEED) zaps a range under mmap_lock held for read."""

from __future__ import annotations

from mmfuzz.engine.versions import code_path
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import down_read, up_read
from mmfuzz.kernel.mm.memory import ZapDetails

madvise = code_path(
    "madvise_dontneed", file="mm/madvise.c",
    doc="do_madvise(MADV_DONTNEED) -> madvise_dontneed_single_vma() -> zap_page_range_single()")


@madvise.version("v6.12", since="v5.18",
                 models="v5.18..v7.x madvise_dontneed_single_vma(): zap_page_range_single() under "
                        "mmap_lock (read); later kernels may take only the VMA lock, not modelled")
class MadviseDontneedV612(KernelCode):
    """MADV_DONTNEED: a whole-PMD range zaps a THP's PMD to none (zap_huge_pmd)."""

    def madvise_dontneed(self, t, mm, start: int, length: int):
        yield from down_read(t, mm.mmap_lock)  # madvise_need_mmap_write(MADV_DONTNEED) is 0
        vma = next(v for v in mm.vmas if v.start <= start < v.end)
        yield from self.zap_page_range_single(t, vma, start, length, ZapDetails())
        up_read(t, mm.mmap_lock)
        return 0

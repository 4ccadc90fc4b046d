"""Named kernels. Each selects, for every code path, the version with the latest `since`."""

from mmfuzz.engine.versions import release

release("v2.6.20", "Feb 2007: do_no_page()/filemap_nopage() with the truncate_count seqlock")
release("v2.6.23", "Oct 2007: faults hold the page lock (d00806b18315, 'mm: fix fault vs invalidate race for linear mappings')")
release("v5.8", "Aug 2020: filemap_map_pages() without XFS MMAPLOCK")
release("v5.9", "Oct 2020: XFS takes MMAPLOCK around ->map_pages (cd647d5651c0)")
release("v5.15", "Oct 2021: mapping->invalidate_lock (730633f0b7f9, 2433480a7e1d)")
release("v6.4", "Jun 2023: the XFS ->map_pages wrapper is gone; ->map_pages under RCU")
release("v6.12", "Nov 2024: VFIO huge pfnmaps (f9e54c3a2f5b); walk_pud_range() racy against a PUD refault")
release("v6.17", "Sep 2025: no devmap bit, no pud_devmap()/pmd_devmap() (d438d2734170, 8a6a984c2e0e); device DAX "
                 "maps refcounted folios since v6.15 (aed877c2b425); the pagewalk race is still there")
release("v7.0-rc2", "Mar 2026: still racy; the huge zero PMD is special since v6.18")
release("v7.0", "first release with the pagewalk fix: upstream 3b89863c3fa4 (mm-hotfixes, v7.0-rc6), with "
                "ffef67b93aa3 (follow_pfnmap_start() re-reads under the lock); 9b25a6e3d243 (v7.1-rc1) is the "
                "same patch committed again; backported to 6.18.y and to 6.12.84 as 138ada1337b4")

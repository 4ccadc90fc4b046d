"""mm/truncate.c: removing pages from the page cache (truncate, hole punch, invalidate)."""

from __future__ import annotations

from mmfuzz.engine.versions import code_path

# Shared by both eras: one path, versions from 2.6.20 to v5.9 and the variants.
truncate_inode_pages_range = code_path(
    "truncate_inode_pages_range", file="mm/truncate.c",
    doc="truncate_inode_pages_range(): lock each page in the range and delete it from the page cache")

# ---- 2007: v2.6.20, v2.6.23 (d00806b18315), the January 2007 RFC (race A) -----------

# ---- 2020: v5.9 with truncate_cleanup_page(), and without its re-unmap (race B) ------

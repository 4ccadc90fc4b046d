"""mm/filemap.c: page-cache lookups on the fault paths, fault-around, read().

Two eras live here, each as versions of its own code paths:
- 2007 (race A): filemap_nopage() of v2.6.20 and v2.6.23;
- 2020 (race B): filemap_fault() and filemap_map_pages() of v5.9 and v5.15.
"""

from __future__ import annotations

from mmfuzz.engine.versions import code_path  # noqa: F401

# ---- 2007: filemap_nopage (race A) -------------------------------------------------

# ---- 2020: filemap_fault, filemap_map_pages, read, readahead (race B) ---------------

/* Race B (2020): XFS v5.8 hole punch vs fault-around, without truncate's re-unmap.
 * The punch unmaps the range, fault-around (filemap_map_pages, no MMAPLOCK before
 * v5.9) maps the page under trylock_page, and truncate_inode_pages_range() then
 * deletes the still-mapped page from the cache. */
bool in_cache = true;
bool mapped = false;
bit page_lock = 0;

active proctype punch() {    /* xfs_free_file_space -> truncate_pagecache_range */
	mapped = false;                                  /* unmap_mapping_pages */
	atomic { page_lock == 0 -> page_lock = 1 };      /* lock_page */
	in_cache = false;                                /* delete_from_page_cache (no re-unmap) */
	page_lock = 0
}

active proctype fault_around() {   /* filemap_map_pages */
	bool got;
	atomic { if :: page_lock == 0 -> page_lock = 1; got = true :: else -> got = false fi };  /* trylock_page */
	if
	:: got ->
		if :: in_cache -> mapped = true :: else -> skip fi;   /* page->mapping check, alloc_set_pte */
		page_lock = 0
	:: else -> skip
	fi
}

active proctype no_stale_pte() {
	atomic { mapped && !in_cache -> assert(false) }
}

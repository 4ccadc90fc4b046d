/* Race A (2007): v2.6.20 do_no_page() vs an O_DIRECT write's invalidation.
 * The invalidator's unmap bumps truncate_count before the fault samples it, so the
 * fault's seqlock re-check sees no change; invalidate_inode_pages2_range() finds the
 * page unmapped and drops it from the cache; the fault then sets its PTE to it. */
byte truncate_count = 0;
bool in_cache = true;        /* the page is in the page cache */
bool mapped = false;         /* the fault's PTE maps it */
bit ptl = 0;

active proctype fault() {    /* do_no_page */
	byte sequence;
	bool got;
retry:
	sequence = truncate_count;                   /* sequence = mapping->truncate_count */
	got = in_cache;                              /* filemap_nopage: find_get_page */
	if :: !got -> goto out :: else -> skip fi;
	atomic { ptl == 0 -> ptl = 1 };              /* pte_offset_map_lock */
	if
	:: sequence != truncate_count -> ptl = 0; goto retry
	:: else -> mapped = true; ptl = 0            /* set_pte_at */
	fi;
out:	skip
}

active proctype odirect() {  /* generic_file_direct_IO */
	atomic { ptl == 0 -> ptl = 1 };              /* unmap_mapping_range */
	truncate_count++;
	mapped = false;
	ptl = 0;
	if                                           /* invalidate_inode_pages2_range */
	:: mapped -> atomic { ptl == 0 -> ptl = 1 }; mapped = false; ptl = 0
	:: else -> skip                              /* page_mapped(page) is false */
	fi;
	in_cache = false                             /* invalidate_complete_page2 */
}

active proctype no_dangling_pte() {
	atomic { mapped && !in_cache -> assert(false) }
}

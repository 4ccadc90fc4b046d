/* Race C (2026): v6.12 walk_pud_range() vs a VFIO huge fault refaulting a special PUD.
 * The walker splits the PUD leaf (a pfnmap deposits no PMD table: the entry is just
 * cleared), the fault re-inserts the leaf, and the walker's second pud_none() re-read
 * sees a non-empty entry, so walk_pmd_range() takes the leaf's pfn as a PMD table. */
mtype = { NONE, LEAF, TABLE };
mtype pud = LEAF;            /* the BAR was faulted in before: one PUD leaf */
bit page_table_lock = 0;

active proctype walker() {   /* show_numa_map -> walk_page_vma -> walk_pud_range */
	if :: pud == NONE -> goto done :: else -> skip fi;        /* pud_none(*pud) */
	if
	:: pud == LEAF ->                                         /* pud_trans_huge(*pud) */
		atomic { page_table_lock == 0 -> page_table_lock = 1 };  /* __split_huge_pud */
		if :: pud == LEAF -> pud = NONE :: else -> skip fi;   /* pudp_huge_clear_flush */
		page_table_lock = 0
	:: else -> skip
	fi;
	if :: pud == NONE -> goto done :: else -> skip fi;        /* pud_none(*pud) again */
	assert(pud == TABLE);                                     /* walk_pmd_range: pmd_offset */
done:	skip
}

active proctype vfio_fault() {   /* vaddr_get_pfns -> handle_mm_fault -> insert_pfn_pud */
	if
	:: pud == NONE ->                                         /* pud_none(*vmf->pud) */
		atomic { page_table_lock == 0 -> page_table_lock = 1 };
		if :: pud == NONE -> pud = LEAF :: else -> skip fi;   /* set_pud_at */
		page_table_lock = 0
	:: else -> skip
	fi
}

"""The model: physical memory, page tables, mms and VMAs, page cache, as plain data."""

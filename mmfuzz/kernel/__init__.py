"""Kernel code paths, laid out as the kernel lays them out (mm/pagewalk.c -> mm/pagewalk.py).

Python cannot spell a method name with a leading double underscore inside a class
(it mangles it), so the kernel's ``__split_huge_pud`` is ``_split_huge_pud`` here; the
timeline prints it as the kernel spells it.
"""

"""Page tables: entries, tables, and the x86 predicates kernel code tests them with.

Geometry is scaled down: every table has ``PTRS`` entries (the kernel has 512), so a
PMD leaf covers ``HPAGE_PMD_NR`` pages and a PUD leaf ``HPAGE_PUD_NR``. Addresses are
page numbers. Nothing else changes: the same levels, entry kinds, locks and splits.
"""

from __future__ import annotations

import attrs

PTRS = 4
LEVELS = ("pgd", "p4d", "pud", "pmd", "pte")
SHIFT = {"pte": 0, "pmd": 2, "pud": 4, "p4d": 6, "pgd": 8}  # log2(PTRS) per level, in pages
HPAGE_PMD_NR = 1 << SHIFT["pmd"]
HPAGE_PUD_NR = 1 << SHIFT["pud"]
PMD_ORDER = SHIFT["pmd"]
PUD_ORDER = SHIFT["pud"]
CHILD = {"pgd": "p4d", "p4d": "pud", "pud": "pmd", "pmd": "pte"}


def index(level: str, addr: int) -> int:
    return (addr >> SHIFT[level]) % PTRS


def addr_end(level: str, addr: int, end: int) -> int:
    """pud_addr_end() and friends: the end of the range this entry maps, clipped to end."""
    size = entry_size(level)
    boundary = (addr + size) & ~(size - 1)
    return min(boundary, end)


def entry_size(level: str) -> int:
    """Pages covered by one entry at this level."""
    return 1 << SHIFT[level]


@attrs.frozen
class Entry:
    kind: str = "none"  # none | table | leaf | swap (non-present)
    pfn: int = 0
    special: bool = False  # pfnmap, or the huge zero folio since v6.18
    # _PAGE_DEVMAP: a DAX PUD/PMD leaf (a pfn with PFN_DEV|PFN_MAP) until d438d2734170
    # removed the bit in v6.17; unlike a devmap PTE, a devmap PUD/PMD is not also special
    devmap: bool = False
    write: bool = False
    dirty: bool = False

    def __str__(self) -> str:
        if self.kind == "none":
            return "none"
        if self.kind == "table":
            return f"table@{self.pfn:#x}"
        bits = [b for b, on in (("special", self.special), ("devmap", self.devmap),
                                ("write", self.write), ("dirty", self.dirty)) if on]
        return f"{self.kind} pfn {self.pfn:#x}" + (f" [{' '.join(bits)}]" if bits else "")


NONE = Entry()


def mk_table(pfn: int) -> Entry:
    return Entry("table", pfn)


def mk_leaf(pfn: int, **bits) -> Entry:
    return Entry("leaf", pfn, **bits)


@attrs.define
class PageTable:
    level: str
    entries: list = attrs.Factory(lambda: [NONE] * PTRS)


@attrs.frozen
class Ptr:
    """A pointer to one entry: which page (pfn) is read as a table, and which slot."""

    pfn: int
    idx: int
    level: str

    def __str__(self) -> str:
        return f"{self.level}@{self.pfn:#x}[{self.idx}]"


# -- x86 predicates ---------------------------------------------------------------------
# pud_devmap() (a00cc7d9dd93, v4.11), pmd_devmap() and the _PAGE_DEVMAP term of
# pXd_trans_huge() exist until v6.16:
# d438d2734170 ("mm: remove devmap related functions and page table bits", v6.17) makes
# pXd_trans_huge() the PSE bit alone. The same function serves both eras because no
# kernel from v6.17 on makes a devmap entry (device DAX's devmap faults end in v6.14,
# and the DAX scenario refuses kernels without pud_devmap()); code of v6.17 on never
# calls pud_devmap()/pmd_devmap() (tests/test_dax.py checks).
def _none(e: Entry) -> bool:
    return e.kind == "none"


def _present(e: Entry) -> bool:
    return e.kind in ("table", "leaf")


def _leaf(e: Entry) -> bool:
    return e.kind == "leaf"  # the PSE bit


def _trans_huge(e: Entry) -> bool:
    # x86: (val & (_PAGE_PSE | _PAGE_DEVMAP)) == _PAGE_PSE, so true for special leaves
    return e.kind == "leaf" and not e.devmap


def _devmap(e: Entry) -> bool:
    return e.kind == "leaf" and e.devmap


def _special(e: Entry) -> bool:
    return e.kind == "leaf" and e.special


pud_none = pmd_none = pte_none = _none
pud_present = pmd_present = pte_present = _present
pud_leaf = pmd_leaf = _leaf
pud_trans_huge = pmd_trans_huge = _trans_huge
pud_devmap = pmd_devmap = _devmap
pud_special = pmd_special = pte_special = _special


def is_swap_pmd(e: Entry) -> bool:
    return e.kind == "swap"

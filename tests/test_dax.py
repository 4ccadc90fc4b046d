"""DAX: device-DAX devmap PUD/PMD leaves (v4.11 .. v6.14) and the kernels without devmap.

- v6.12's walker descends into a refaulted devmap PUD: pmem is in the direct map, so it
  reads pmem as a PMD table without faulting (no-mis-walk, not an oops).
- The PMD level is clean on v6.12 because ___pte_offset_map() rejects a devmap PMD; the
  v6.17 version of it (no pmd_devmap() term) run against v6.12's devmap PMDs is racy.
- From v6.17 (d438d2734170) no composed code calls pud_devmap()/pmd_devmap() and no
  timeline prints them.

Each verdict comes from the explorer (every schedule within the preemption bound).
"""

import inspect
import re

import pytest

from mmfuzz.api import PATHS, RELEASES, exhaust, fuzz, prepare
from mmfuzz.engine.search import Explorer
from mmfuzz.engine.versions import UnknownName, release_key, select
from mmfuzz.races import load as load_all

ONE_EACH = {"numa_maps": (1, 1), "dax_fault": (1, 1), "pte_walker": (0, 0)}
PUD = {"dax_align": "pud", "prefaulted": True}
PMD = {"dax_align": "pmd", "prefaulted": True}
FIX = {"walk_page_range": "3b89863c3fa4"}
load_all()


def explore(kernel, population, params, overrides=None, bound=2):
    """Every schedule of exactly this population and these parameters, raw (the canonical
    form of exhaust() may move a race to other parameter values)."""
    scen, versions, kernel_cls = prepare("pagewalk-dax", kernel, overrides)
    return Explorer(scen, kernel_cls, versions, population, params).search(bound)


def test_v6_12_walker_mis_walks_a_refaulted_dax_pud_without_an_oops():
    r = exhaust("pagewalk-dax", "v6.12", counts=ONE_EACH, params=PUD, max_preemptions=2)
    assert r.found and r.invariant == "no-mis-walk" and r.bound == 1
    assert "persistent memory (dax0, in the direct map)" in r.message
    # a silent mis-walk: the walker does not die, so it holds mmap_lock only until it ends
    assert "died holding" not in r.report
    labels = [label for _, label in r.schedule["steps"]]
    # the walker's own split zaps the devmap PUD; the fault re-installs it; the re-read
    # sees no none and walk_pmd_range() takes the leaf's pfn as the PMD table
    assert labels[2] == "split_huge_pud: pud_trans_huge(*pud) || pud_devmap(*pud)"
    assert labels[-3:] == ["walk_pud_range: pud_none(*pud)", "walk_pmd_range: pmd = pmd_offset(pud, addr)",
                           "walk_pmd_range: pmd_none(*pmd)"]


def test_the_fix_backported_to_v6_12_is_clean_on_a_dax_pud():
    two_each = {"numa_maps": (2, 2), "dax_fault": (1, 1), "pte_walker": (0, 0)}
    r = exhaust("pagewalk-dax", "v6.12", overrides=FIX, counts=two_each, params=PUD, max_preemptions=2)
    assert not r.found and r.complete, r.report


def test_dax_pmds_are_clean_on_v6_12_and_rest_on_the_pmd_devmap_term():
    walkers = ["pte_walker", "dax_fault", "numa_maps"]
    r = explore("v6.12", walkers, PMD)
    assert r.complete and r.found is None
    # v6.17's ___pte_offset_map() tests pmd_trans_huge() alone: on a kernel that still
    # makes devmap PMDs it maps a refaulted one as a PTE table, i.e. reads pmem
    r = explore("v6.12", walkers, PMD, overrides={"pte_offset_map_lock": "8a6a984c2e0e"})
    assert r.found is not None and r.found.invariant == "no-mis-walk"
    assert "read *pte at pfn" in str(r.found) and "persistent memory" in str(r.found)


def test_kernels_from_v6_17_have_no_dax_devmap_scenario():
    for kernel in ("v6.17", "v7.0"):
        with pytest.raises(UnknownName, match="dev_dax_huge_fault"):
            fuzz("pagewalk-dax", kernel, seed=1, max_examples=1)
        # the retired driver forced onto a kernel without devmap is refused, not run
        with pytest.raises(UnknownName, match="d438d2734170"):
            exhaust("pagewalk-dax", kernel, overrides={"dev_dax_huge_fault": "v4.11"}, counts=ONE_EACH,
                    params=PUD, max_preemptions=0)


def _effective_functions(cls):
    for name in dir(cls):
        if name.startswith("__"):
            continue
        fn = inspect.getattr_static(cls, name)
        fn = getattr(fn, "__func__", fn)
        if inspect.isfunction(fn):
            yield name, fn


def _lacks(kernel: str) -> list[str]:
    """The huge-entry predicates a release does not have: pud_trans_huge() and
    pud_devmap() came in v4.11 (a00cc7d9dd93), pmd_trans_huge() with THP in v2.6.38;
    d438d2734170 (v6.17) removed pud_devmap() and pmd_devmap()."""
    key = release_key(kernel)
    lacks = []
    if key < release_key("v4.11"):
        lacks += ["pud_trans_huge", "pud_devmap"]
    if key < release_key("v2.6.38"):
        lacks += ["pmd_trans_huge", "pmd_devmap"]
    if key >= release_key("v6.17"):
        lacks += ["pud_devmap", "pmd_devmap"]
    return lacks


@pytest.mark.parametrize("kernel", [k for k in sorted(RELEASES, key=release_key) if _lacks(k)])
def test_no_kernel_calls_or_prints_a_predicate_its_release_lacks(kernel):
    """Every function a named kernel runs (each version's own and those it inherits),
    its step labels included, names only predicates the release has."""
    assert PATHS  # the scenarios registered every path
    called = re.compile(r"\b(" + "|".join(_lacks(kernel)) + r")\(")
    callers = sorted(f"{path} ({v.name}): {name}" for path, v in select(kernel).items()
                     for name, fn in _effective_functions(v.cls)
                     if called.search(inspect.getsource(fn)))
    assert not callers


def test_timelines_print_pud_devmap_only_where_the_release_has_it():
    one_walker_one_fault = {"numa_maps": (1, 1), "vfio_fault": (1, 1), "vfio_zap": (0, 0),
                            "pte_walker": (0, 0), "bar_pte_walker": (0, 0)}
    printed = {}
    for kernel in ("v6.12", "v6.17", "v7.0-rc2"):
        r = exhaust("pagewalk", kernel, counts=one_walker_one_fault, params={"bar_align": "pud"},
                    max_preemptions=1)
        assert r.found and r.invariant == "no-illegal-read"
        labels = [label for _, label in r.schedule["steps"]]
        printed[kernel] = [label for label in labels if label.startswith("split_huge_pud: ")]
    assert printed["v6.12"] == ["split_huge_pud: pud_trans_huge(*pud) || pud_devmap(*pud)"]
    assert printed["v6.17"] == printed["v7.0-rc2"] == ["split_huge_pud: pud_trans_huge(*pud)"]

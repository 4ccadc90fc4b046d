"""The 2026 race, round 2: what the fix leaves, and what the PMD-level verdict rests on.

- Max's EINVAL: follow_fault_pfn() looks up, faults in, looks up again; a walker's
  split between the fault and the second lookup fails the DMA map (vfio-dma-map).
- The fixed walk re-walks a PUD's range on a stale ACTION_AGAIN (walk-once).
- The PMD level is safe because ___pte_offset_map() rejects a refaulted PMD leaf: the
  same population with that re-check removed (a mutant) is racy.

Each verdict comes from the explorer (every schedule within the preemption bound).
"""

from mmfuzz.api import PATHS, exhaust, prepare
from mmfuzz.engine.versions import select
from mmfuzz.engine.search import Explorer

PMD_BAR = {"bar_align": "pmd", "prefaulted": True}
NO_LEAF_CHECK = {"pte_offset_map_lock": "no-pmd-leaf-check"}
EINVAL = "dma-map-gets-its-pfn"
ONCE = "walk-reports-each-address-once"


def explore(scenario, kernel, population, params, overrides=None, bound=2, invariant=None):
    """Every schedule of exactly this population and these parameters, raw (not canonical)."""
    scen, versions, kernel_cls = prepare(scenario, kernel, overrides)
    return Explorer(scen, kernel_cls, versions, population, params).search(bound, invariant=invariant)


def labels_of(violation, kind):
    run = violation.run
    return [s.label for s in run.trace if run.tasks[s.tid].kind == kind]


# -- the PMD level rests on ___pte_offset_map()'s re-check -----------------------------------

def test_pmd_level_numa_maps_is_clean_and_rests_on_the_pmd_leaf_check():
    population = ["numa_maps", "vfio_fault", "vfio_zap"]
    r = explore("pagewalk", "v6.12", population, PMD_BAR)
    assert r.complete and r.found is None
    r = explore("pagewalk", "v6.12", population, PMD_BAR, overrides=NO_LEAF_CHECK)
    assert r.found is not None and r.found.invariant == "no-illegal-read"
    # gather_pte_stats() now reads the PTEs: it maps a refaulted PMD leaf as a PTE table
    assert "gather_pte_stats" in r.found.message and "device memory (vfio0 MMIO)" in r.found.message


def test_pmd_level_pte_entry_walker_of_the_bar_is_clean_and_rests_on_the_check():
    population = ["bar_pte_walker", "vfio_fault"]
    r = explore("pagewalk", "v6.12", population, PMD_BAR)
    assert r.complete and r.found is None
    r = explore("pagewalk", "v6.12", population, PMD_BAR, overrides=NO_LEAF_CHECK)
    assert r.found is not None and r.found.invariant == "no-illegal-read"
    assert "not a PTE table" in r.found.message
    # its own split_huge_pmd() zapped the leaf, the fault put it back
    walker = labels_of(r.found, "bar_pte_walker")
    assert any(s.startswith("__split_huge_pmd") for s in walker)


def test_the_printed_race_keeps_a_parameter_the_caller_pinned():
    """--param bar_align=pmd asks about PMD pfnmaps: the printed (canonical) race must be
    the PMD one, although the PUD one is the preferred value's."""
    counts = {"numa_maps": (1, 1), "vfio_fault": (1, 1), "vfio_zap": (1, 1), "pte_walker": (0, 0),
              "bar_pte_walker": (0, 0)}
    r = exhaust("pagewalk", "v6.12", overrides=NO_LEAF_CHECK, counts=counts, params={"bar_align": "pmd"},
                max_preemptions=2)
    assert r.found and r.params["bar_align"] == "pmd" and r.pinned == ["bar_align"]
    assert "gather_pte_stats" in r.message  # the PMD-level race, not the PUD one
    r = exhaust("pagewalk", "v6.12", overrides=NO_LEAF_CHECK, counts=counts, max_preemptions=2)
    assert r.found and r.params["bar_align"] == "pud" and r.pinned == []  # unpinned: the preferred value


# -- Max's EINVAL --------------------------------------------------------------------------

def assert_split_between_fault_and_second_lookup(v):
    steps = [(v.run.tasks[s.tid].kind, s.label) for s in v.run.trace]
    fault = steps.index(("vfio_fault", "insert_pfn_pud: spin_lock(page_table_lock)"))
    split = steps.index(("numa_maps", "__split_huge_pud: spin_lock(page_table_lock)"))
    last = max(i for i, (kind, _) in enumerate(steps) if kind == "vfio_fault")
    assert fault < split < last and steps[last][1].startswith("follow_pfnmap_start")


def test_the_dma_map_fails_when_a_walker_splits_between_fault_and_lookup_on_v7_0():
    r = exhaust("vfio-dma-map", "v7.0", counts={"numa_maps": (1, 1), "vfio_fault": (1, 1), "vfio_zap": (0, 0)},
                max_preemptions=2)
    assert r.found and r.invariant == EINVAL and "EINVAL" in r.message
    # the walk is the fixed one: nothing oopses, the map fails
    assert r.versions["walk_page_range"] == "3b89863c3fa4" and r.versions["follow_pfnmap_start"] == "ffef67b93aa3"


def test_the_einval_needs_no_fix_to_happen():
    # v6.12 (where the walker can also oops), the 6.12.84 backport, and v7.0 before
    # ffef67b93aa3: the same schedule fails the map on every version
    for kernel, overrides in (("v6.12", {}), ("v6.12", {"walk_page_range": "3b89863c3fa4"}),
                              ("v7.0", {"follow_pfnmap_start": "v6.12"}), ("v7.0", {})):
        r = explore("vfio-dma-map", kernel, ["numa_maps", "vfio_fault"], {"bar_align": "pud", "prefaulted": False},
                    overrides=overrides, invariant=EINVAL)
        assert r.found is not None, (kernel, overrides)
        assert_split_between_fault_and_second_lookup(r.found)


def test_without_a_walker_the_dma_map_always_gets_its_pfn():
    r = exhaust("vfio-dma-map", "v7.0", counts={"numa_maps": (0, 0), "vfio_fault": (2, 2), "vfio_zap": (0, 0)},
                max_preemptions=3)
    assert r.complete and not r.found


# -- the fixed walk re-reports a PUD's range -------------------------------------------------

def test_the_fix_makes_pagemap_and_numa_maps_report_a_range_twice():
    for kind in ("pagemap", "numa_maps"):
        counts = {"pagemap": (0, 0), "numa_maps": (0, 0), "dontneed": (1, 1)} | {kind: (1, 1)}
        for kernel, overrides in (("v7.0", {}), ("v6.12", {"walk_page_range": "3b89863c3fa4"})):
            r = exhaust("walk-once", kernel, overrides=overrides, counts=counts, max_preemptions=1)
            assert r.found and r.invariant == ONCE and r.bound == 1, (kind, kernel)
            steps = [label for tid, label in r.schedule["steps"] if r.schedule["population"][tid] == kind]
            # walk_pud_range()'s `goto again` on the stale ACTION_AGAIN walks the PUD twice
            assert steps.count("walk_pmd_range: pudval = pudp_get(pud)") == 2
        for kernel in ("v6.12", "v7.0-rc2"):
            r = exhaust("walk-once", kernel, counts=counts, max_preemptions=2)
            assert r.complete and not r.found, (kind, kernel)


def test_pagemap_shifts_its_output():
    r = exhaust("walk-once", "v7.0", counts={"pagemap": (1, 1), "numa_maps": (0, 0), "dontneed": (1, 1)},
                max_preemptions=1)
    # entry 3 (for 0x18) is a second copy of 0x15's: every later entry is one page off
    assert "entry 3 of the read (for address 0x18) is the walk's entry for 0x15" in r.message


# -- names -------------------------------------------------------------------------------------

def test_the_fix_is_named_by_its_upstream_id_and_9b25a6e3d243_is_an_alias():
    walk = PATHS["walk_page_range"].versions
    assert select("v7.0")["walk_page_range"].name == "3b89863c3fa4"
    alias = walk["9b25a6e3d243"]
    assert alias.since is None and issubclass(alias.cls, walk["3b89863c3fa4"].cls)
    assert not {k for k in vars(alias.cls) if not k.startswith("__")}


def test_the_pfn_alignment_fallback_comes_with_09dfc8a5f2ce():
    assert select("v6.12")["vfio_pci_mmap_huge_fault"].name == "v6.12"
    assert select("v7.0")["vfio_pci_mmap_huge_fault"].name == "09dfc8a5f2ce"

    class Vma:
        end = 0x100

    class Vmf:
        vma, address = Vma(), 0x40

    for kernel, falls_back in (("v6.12", False), ("v7.0", True)):
        _, _, kernel_cls = prepare("pagewalk", kernel)
        # a PMD-aligned address whose pfn is not PMD aligned
        assert kernel_cls().vfio_huge_fault_must_fall_back(Vmf(), 2, 0x41) is falls_back

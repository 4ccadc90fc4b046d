"""The 2026 race: walk_page_vma() (numa_maps) vs a VFIO huge fault refaulting a PUD pfnmap.

Every verdict here comes from running the fuzzer with a fixed seed and budget.
"""

from mmfuzz.api import fuzz

PAGEWALK = "walk_page_range"
# Races of three or four CPUs turn up in about 1 example in 300-600; the fuzzer stops at
# the first, so a generous bound costs nothing when the race is there.
FIND = 4000
# a clean verdict: each example runs hundreds of schedules of its population (fuzz.py)
CLEAN = 5
PUD_PREFAULTED = {"bar_align": "pud", "prefaulted": True}


def runs(result):
    """The shrunk schedule as (actor kind, [labels]) runs, one per switch."""
    out = []
    for tid, label in result.schedule["steps"]:
        kind = result.schedule["population"][tid]
        if out and out[-1][0] == kind:
            out[-1][1].append(label)
        else:
            out.append((kind, [label]))
    return out


def assert_c4_race(r):
    """Reference C.4: split (zap), refault, the pud_none re-read sees the new leaf."""
    assert r.found and r.invariant == "no-illegal-read"
    assert sorted(r.population) == ["numa_maps", "vfio_fault"]
    assert r.switches == 2
    (w1, walk1), (f, fault), (w2, walk2) = runs(r)
    assert (w1, f, w2) == ("numa_maps", "vfio_fault", "numa_maps")
    assert walk1[-1] == "__split_huge_pud: spin_lock(page_table_lock)"
    # follow_fault_pfn(): the lookup fails, the fault installs a leaf, the second lookup finds it
    assert "insert_pfn_pud: spin_lock(page_table_lock)" in fault
    assert fault[-1] == "follow_pfnmap_start: spin_lock(page_table_lock)"
    assert walk2 == ["walk_pud_range: pud_none(*pud)", "walk_pmd_range: pmd = pmd_offset(pud, addr)",
                     "walk_pmd_range: pmd_none(*pmd)"]
    assert "device memory (vfio0 MMIO)" in r.message


def test_v6_12_walker_reads_a_refaulted_pud_leaf_as_a_pmd_table():
    assert_c4_race(fuzz("pagewalk", "v6.12", seed=4, max_examples=FIND))


def test_v7_0_rc2_is_still_racy():
    assert_c4_race(fuzz("pagewalk", "v7.0-rc2", seed=4, max_examples=FIND))


def test_v7_0_is_clean_with_a_second_walker_and_the_zapper():
    everyone = {"numa_maps": (2, 2), "vfio_fault": (2, 2), "vfio_zap": (1, 1), "pte_walker": (1, 1), "bar_pte_walker": (0, 0)}
    r = fuzz("pagewalk", "v7.0", counts=everyone, params=PUD_PREFAULTED, seed=1, max_examples=CLEAN)
    assert not r.found, r.report
    r = fuzz("pagewalk", "v7.0", seed=1, max_examples=CLEAN)
    assert not r.found, r.report


def test_the_fix_backported_to_v6_12_is_clean():
    r = fuzz("pagewalk", "v6.12", overrides={PAGEWALK: "3b89863c3fa4"}, seed=1, max_examples=CLEAN)
    assert not r.found, r.report


def test_maxs_question_needs_a_third_actor():
    maxq = {PAGEWALK: "maxq-leaf-recheck"}
    # walker and faulters alone: the only zapper is the walker's own split
    alone = {"numa_maps": (1, 1), "vfio_fault": (1, 2), "vfio_zap": (0, 0), "pte_walker": (0, 0), "bar_pte_walker": (0, 0)}
    r = fuzz("pagewalk", "v7.0-rc2", overrides=maxq, counts=alone, params=PUD_PREFAULTED,
             seed=1, max_examples=CLEAN)  # the exhaustive test checks every schedule
    assert not r.found, r.report
    # a zapper between the two loads of `pud_none(*pud) || pud_leaf(*pud)`
    with_zap = {"numa_maps": (1, 1), "vfio_fault": (2, 2), "vfio_zap": (1, 1), "pte_walker": (0, 0), "bar_pte_walker": (0, 0)}
    r = fuzz("pagewalk", "v7.0-rc2", overrides=maxq, counts=with_zap, params=PUD_PREFAULTED,
             seed=4, max_examples=FIND)
    assert r.found and r.invariant == "no-illegal-read"
    assert "vfio_zap" in r.population
    # the zap lands between the walker's two loads: load 1 saw a leaf, load 2 none
    labels = [label for _, label in r.schedule["steps"]]
    assert "walk_pud_range: pud_leaf(*pud)" in labels
    # a second walker's split is a zapper too
    two_walkers = {"numa_maps": (2, 2), "vfio_fault": (2, 2), "vfio_zap": (0, 0), "pte_walker": (0, 0), "bar_pte_walker": (0, 0)}
    r = fuzz("pagewalk", "v7.0-rc2", overrides=maxq, counts=two_walkers, params=PUD_PREFAULTED,
             seed=1, max_examples=FIND)
    assert r.found and r.invariant == "no-illegal-read"
    assert r.population.count("numa_maps") == 2


def test_maxs_rfc_is_racy_with_a_zapper():
    rfc = {PAGEWALK: "rfc-skip-special"}
    no_zap = {"numa_maps": (1, 2), "vfio_fault": (1, 2), "vfio_zap": (0, 0), "pte_walker": (0, 0), "bar_pte_walker": (0, 0)}
    r = fuzz("pagewalk", "v6.12", overrides=rfc, counts=no_zap, seed=1, max_examples=CLEAN)
    assert not r.found, r.report
    zap = {"numa_maps": (1, 1), "vfio_fault": (2, 2), "vfio_zap": (1, 1), "pte_walker": (0, 0), "bar_pte_walker": (0, 0)}
    r = fuzz("pagewalk", "v6.12", overrides=rfc, counts=zap, params=PUD_PREFAULTED, seed=4, max_examples=FIND)
    assert r.found and r.invariant == "no-illegal-read"
    assert "vfio_zap" in r.population


def test_maxs_rfc_skips_the_huge_zero_folio_once_it_is_special():
    rfc = {PAGEWALK: "rfc-skip-special"}
    walker = {"numa_maps": (0, 0), "vfio_fault": (0, 0), "vfio_zap": (0, 0), "pte_walker": (1, 1), "bar_pte_walker": (0, 0)}
    r = fuzz("pagewalk", "v7.0-rc2", overrides=rfc, counts=walker, seed=1, max_examples=50)
    assert r.found and r.invariant == "walk-completeness"
    assert "leaf" in r.message and "special" in r.message
    # before v6.18 the huge zero PMD is not special: the RFC splits it like v6.12
    r = fuzz("pagewalk", "v6.12", overrides=rfc, counts=walker, seed=1, max_examples=50)
    assert not r.found, r.report


def test_the_pct_machine_finds_the_c4_race_in_canonical_form():
    # one PCT schedule a rule, no Hypothesis shrinking: canonical() gives the printed race
    r = fuzz("pagewalk", "v6.12", seed=2, max_examples=200, schedule="pct")
    assert_c4_race(r)
    assert r.runs > r.examples

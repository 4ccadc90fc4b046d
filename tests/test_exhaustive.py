"""Bounded-exhaustive exploration: every schedule with up to K preemptions.

A race found here is the one with the fewest preemptions; a clean result holds for
every schedule within the bound, for the population and every parameter combination.
"""

import pytest

import toy  # noqa: F401  (registers the toy scenarios)
from mmfuzz.corpus.expect import declared
from mmfuzz.api import SCENARIOS, get_scenario
from mmfuzz.races import load as load_all
from mmfuzz.api import exhaust

WALK = "walk_page_range"
PUD_BAR = {"bar_align": "pud"}
ONE_WALKER_TWO_FAULTS = {"numa_maps": (1, 1), "vfio_fault": (2, 2), "vfio_zap": (0, 0), "pte_walker": (0, 0),
                         "bar_pte_walker": (0, 0)}


def test_toy_lost_update_needs_one_preemption():
    two = {"inc": (2, 2)}
    r = exhaust("toy-lost-update", "v6.12", overrides={"toy_counter": "racy"}, counts=two, max_preemptions=0)
    assert not r.found and r.complete
    r = exhaust("toy-lost-update", "v6.12", overrides={"toy_counter": "racy"}, counts=two, max_preemptions=1)
    assert r.found and r.bound == 1 and (r.steps, r.switches) == (4, 2)
    r = exhaust("toy-lost-update", "v6.12", overrides={"toy_counter": "atomic"}, counts={"inc": (3, 3)},
                max_preemptions=3)
    assert not r.found and r.complete


def test_pagewalk_c4_is_the_one_preemption_race():
    r = exhaust("pagewalk", "v6.12", counts={"numa_maps": (1, 1), "vfio_fault": (1, 1), "vfio_zap": (0, 0),
                                            "pte_walker": (0, 0), "bar_pte_walker": (0, 0)}, max_preemptions=2)
    assert r.found and r.invariant == "no-illegal-read" and r.bound == 1
    assert (len(r.population), r.switches, r.steps) == (2, 2, 14)


def test_v7_0_has_no_race_within_two_preemptions_with_everyone():
    everyone = {"numa_maps": (2, 2), "vfio_fault": (2, 2), "vfio_zap": (1, 1), "pte_walker": (1, 1), "bar_pte_walker": (0, 0)}
    r = exhaust("pagewalk", "v7.0", counts=everyone, max_preemptions=2, params={"bar_align": "pud"})
    assert not r.found and r.complete, r.report


def test_maxs_question_needs_a_third_actor_exhaustively():
    maxq = {WALK: "maxq-leaf-recheck"}
    # the PUD race: a PUD-aligned BAR (the two-PMD BAR has its own verdicts)
    r = exhaust("pagewalk", "v7.0-rc2", overrides=maxq, counts=ONE_WALKER_TWO_FAULTS, params=PUD_BAR,
                max_preemptions=3)
    assert not r.found and r.complete
    with_zap = ONE_WALKER_TWO_FAULTS | {"vfio_zap": (1, 1)}
    r = exhaust("pagewalk", "v7.0-rc2", overrides=maxq, counts=with_zap, max_preemptions=2)
    assert r.found and r.invariant == "no-illegal-read" and r.bound == 2 and "vfio_zap" in r.population


def test_maxs_rfc_is_clean_without_a_zapper_and_racy_with_one():
    rfc = {WALK: "rfc-skip-special"}
    two_walkers = ONE_WALKER_TWO_FAULTS | {"numa_maps": (2, 2)}
    r = exhaust("pagewalk", "v6.12", overrides=rfc, counts=two_walkers, params=PUD_BAR, max_preemptions=3)
    assert not r.found and r.complete
    r = exhaust("pagewalk", "v6.12", overrides=rfc, counts=ONE_WALKER_TWO_FAULTS | {"vfio_zap": (1, 1)},
                max_preemptions=2)
    assert r.found and r.invariant == "no-illegal-read" and "vfio_zap" in r.population


load_all()
ROWS = [row for name in sorted(SCENARIOS) if not name.startswith("toy-") for row in declared(name)]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.scenario}-{r.label}-{r.expect}" for r in ROWS])
def test_declared_verdicts_hold_within_two_preemptions(row):
    """Each scenario's small populations (explore_with), every schedule within two
    preemptions: a racy row breaks with one of them, a clean row with none."""
    scen = get_scenario(row.scenario, dict(row.options))
    assert scen.explore_with, f"{row.scenario} declares no populations to explore"
    found = []
    for population in scen.explore_with:
        r = exhaust(row.scenario, row.kernel, overrides=dict(row.overrides), options=dict(row.options),
                    counts=scen.exact_counts(population), max_preemptions=2)
        assert r.complete
        if r.found:
            found.append(r)
    if row.expect == "racy":
        assert found, f"{row.label}: no race within 2 preemptions"
    else:
        assert not found, found[0].report

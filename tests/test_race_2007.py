"""Race A (2007): do_no_page() vs invalidate and truncate, v2.6.20 and v2.6.23 (d00806b18315)."""

from __future__ import annotations

import pytest

from mmfuzz.api import exhaust, fuzz, prepare
from mmfuzz.kernel.mm.memory import DoNoPageV2620, do_no_page

BUDGET = 4  # examples for a clean verdict (each runs hundreds of schedules)
FIND = 5000  # an upper bound for a racy one: the fuzzer stops at the first violation

MUTANT = "test-no-truncate-count-recheck"


class DoNoPageNoRecheck(DoNoPageV2620):
    """v2.6.20 do_no_page() without the truncate_count re-check under the PTL (a test mutant)."""

    def truncate_count_changed(self, space, sequence):
        return False


if MUTANT not in do_no_page.versions:
    do_no_page.version(MUTANT, models="test mutant: v2.6.20 with the seqlock re-check removed")(DoNoPageNoRecheck)


def step_index(result, kind: str, label_part: str, last: bool = False) -> int:
    """Index in the shrunk schedule of the first (or last) step of a `kind` actor containing label_part."""
    hits = [i for i, (tid, label) in enumerate(result.schedule["steps"])
            if label_part in label and result.population[tid] == kind]
    assert hits, f"no step {label_part!r} of {kind} in {result.schedule['steps']}"
    return hits[-1] if last else hits[0]


def test_fault_vs_invalidate_v2620_maps_a_page_after_it_left_the_cache():
    r = fuzz("fault-vs-invalidate", "v2.6.20", seed=2, max_examples=FIND)
    assert r.found, "the A.4 race must be found on v2.6.20"
    assert r.invariant == "no-dangling-pte"
    # shrunk to A.4: one read fault against the O_DIRECT writer's invalidation
    assert sorted(r.actors) == ["O_DIRECT write", "read fault"]
    assert r.switches <= 4
    # A.4: the fault reads truncate_count after the invalidator's unmap bumped it, so the
    # seqlock sees nothing; it sets its PTE after the page_mapped() check came out false
    bumped = step_index(r, "odirect", "unmap_mapping_range: spin_lock")
    sequence = step_index(r, "fault", "do_no_page: sequence = mapping->truncate_count", last=True)
    checked = step_index(r, "odirect", "invalidate_inode_pages2_range: page_mapped(page)", last=True)
    mapped = step_index(r, "fault", "pte_offset_map_lock: spin_lock", last=True)
    assert bumped < sequence and checked < mapped
    assert "page->mapping == NULL" in r.message


def test_fault_vs_invalidate_v2623_is_clean():
    r = fuzz("fault-vs-invalidate", "v2.6.23", seed=1, max_examples=BUDGET)
    assert not r.found, r.report


def test_fault_vs_truncate_v2620_is_clean():
    # the truncate_count seqlock does protect truncation beyond i_size
    r = fuzz("fault-vs-truncate", "v2.6.20", seed=1, max_examples=BUDGET)
    assert not r.found, r.report


def test_fault_vs_truncate_v2623_is_clean():
    r = fuzz("fault-vs-truncate", "v2.6.23", seed=1, max_examples=BUDGET)
    assert not r.found, r.report


def test_mutant_without_truncate_count_recheck_is_racy():
    """Keeps the previous verdict honest: the seqlock re-check is what makes v2.6.20 clean."""
    r = fuzz("fault-vs-truncate", "v2.6.20", overrides={"do_no_page": MUTANT}, seed=1, max_examples=FIND)
    assert r.found
    assert r.invariant in ("no-dangling-pte", "no-pte-beyond-eof")


COW_VS_TRUNCATE = {"cow": (1, 1), "truncate": (1, 1), "fault": (0, 0), "write": (0, 0), "read": (0, 0)}
RFC = {"vmtruncate": "rfc-jan2007", "truncate_inode_pages_range": "rfc-jan2007"}


def test_rfc_jan2007_loses_cow_pages_without_any_race():
    """The January 2007 RFC dropped vmtruncate()'s only even_cows unmap: the COW copy
    survives even when the fault runs to completion before the truncate starts."""
    r = exhaust("fault-vs-truncate", "v2.6.23", overrides=RFC, counts=COW_VS_TRUNCATE, max_preemptions=0)
    assert r.found and r.invariant == "no-pte-beyond-eof", r.report
    assert r.bound == 0 and "private write fault" in r.actors


def test_one_unmap_on_d00806b18315_races_with_a_cow_fault():
    """d00806b18315 drops the seqlock; v2.6.20's single unmap then misses a COW copy
    installed after it by a fault that passed its i_size check: the race the merged
    second unmap closes."""
    one_unmap = {"vmtruncate": "v2.6.20"}
    r = exhaust("fault-vs-truncate", "v2.6.23", overrides=one_unmap, counts=COW_VS_TRUNCATE, max_preemptions=0)
    assert not r.found and r.complete
    r = exhaust("fault-vs-truncate", "v2.6.23", overrides=one_unmap, counts=COW_VS_TRUNCATE, max_preemptions=1)
    assert r.found and r.invariant == "no-pte-beyond-eof" and r.bound == 1, r.report
    # the fault re-checked i_size under the page lock before the truncate shrank it,
    # and set its PTE after the truncate's only unmap
    checked = step_index(r, "cow", "filemap_nopage: size = i_size_read(inode)", last=True)
    shrunk = step_index(r, "truncate", "vmtruncate: i_size_write")
    unmapped = step_index(r, "truncate", "unmap_mapping_range: spin_lock")
    mapped = step_index(r, "cow", "pte_offset_map_lock: spin_lock", last=True)
    assert checked < shrunk < unmapped < mapped
    # the merged second unmap closes it
    r = exhaust("fault-vs-truncate", "v2.6.23", counts=COW_VS_TRUNCATE, max_preemptions=2)
    assert not r.found and r.complete


FAULT_VS_PUNCH = {"fault": (1, 1), "punch": (1, 1), "write": (0, 0), "cow": (0, 0)}


def test_punch_v2620_maps_a_page_the_punch_dropped():
    """vmtruncate_range() leaves i_size alone: the seqlock sees nothing, as with invalidation."""
    r = exhaust("fault-vs-punch", "v2.6.20", counts=FAULT_VS_PUNCH, max_preemptions=1)
    assert r.found and r.invariant == "no-dangling-pte" and r.bound == 1, r.report
    # the fault read truncate_count after the punch's unmap bumped it, so the count it
    # re-reads under the PTL is unchanged; the page left the cache after it was mapped
    bumped = step_index(r, "punch", "unmap_mapping_range: spin_lock")
    sequence = step_index(r, "fault", "do_no_page: sequence = mapping->truncate_count", last=True)
    mapped = step_index(r, "fault", "pte_offset_map_lock: spin_lock", last=True)
    removed = step_index(r, "punch", "remove_from_page_cache", last=True)
    assert bumped < sequence < mapped < removed


def test_punch_v2623_is_clean_and_rests_on_the_page_lock():
    r = exhaust("fault-vs-punch", "v2.6.23", counts=FAULT_VS_PUNCH, max_preemptions=2,
                params={"cached": True, "page0_cached": True})
    assert not r.found and r.complete, r.report
    r = exhaust("fault-vs-punch", "v2.6.23", counts=FAULT_VS_PUNCH, max_preemptions=2,
                overrides={"do_no_page": "mutant-early-unlock"})
    assert r.found and r.invariant == "no-dangling-pte", r.report


def test_hughs_holepunch_unmap_helps_only_while_pages_remain():
    """Hugh Dickins' 2007 fix unmaps after shmem_truncate_range()'s second truncate, which
    runs only if the file still has pages in the cache."""
    hugh = {"shmem": "v2.6.21"}
    r = exhaust("fault-vs-punch", "v2.6.20", overrides=hugh, counts=FAULT_VS_PUNCH, max_preemptions=2,
                params={"page0_cached": True})
    assert not r.found and r.complete, r.report
    r = exhaust("fault-vs-punch", "v2.6.20", overrides=hugh, counts=FAULT_VS_PUNCH, max_preemptions=2,
                params={"page0_cached": False})
    assert r.found and r.invariant == "no-dangling-pte" and r.bound == 1, r.report
    assert any(label.startswith("shmem_truncate_range: if (inode->i_mapping->nrpages")
               for _, label in r.schedule["steps"])


@pytest.mark.parametrize("scenario,kernel", [
    ("pagewalk", "v6.12"), ("fault-vs-invalidate", "v2.6.20"), ("fault-vs-truncate", "v2.6.23"),
])
def test_paths_compose(scenario, kernel):
    # the 2007 paths end at v2.6.27 ("not-modelled"): they never compose into later kernels
    scen, versions, _ = prepare(scenario, kernel)
    if kernel == "v6.12":
        for path in ("do_no_page", "filemap_nopage", "find_get_page", "vmtruncate"):
            assert path not in versions or versions[path].name == "not-modelled"

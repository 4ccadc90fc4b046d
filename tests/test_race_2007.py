"""Race A (2007): do_no_page() vs invalidate and truncate, v2.6.20 and v2.6.23 (d00806b18315)."""

from __future__ import annotations

import pytest

from mmfuzz.api import fuzz, prepare
from mmfuzz.kernel.mm.memory import DoNoPageV2620, do_no_page

BUDGET = 500  # examples for a clean verdict
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


def test_rfc_jan2007_truncate_leaves_a_cow_page_beyond_eof():
    """The January 2007 RFC dropped vmtruncate()'s unmap: private COW copies survive."""
    r = fuzz("fault-vs-truncate", "v2.6.23", seed=1, max_examples=FIND,
             overrides={"vmtruncate": "rfc-jan2007", "truncate_inode_pages_range": "rfc-jan2007"})
    assert r.found
    assert r.invariant == "no-pte-beyond-eof"
    assert "private write fault" in r.actors


@pytest.mark.parametrize("scenario,kernel", [
    ("pagewalk", "v6.12"), ("fault-vs-invalidate", "v2.6.20"), ("fault-vs-truncate", "v2.6.23"),
])
def test_paths_compose(scenario, kernel):
    # the 2007 paths end at v2.6.27 ("not-modelled"): they never compose into later kernels
    scen, versions, _ = prepare(scenario, kernel)
    if kernel == "v6.12":
        for path in ("do_no_page", "filemap_nopage", "find_get_page", "vmtruncate"):
            assert path not in versions or versions[path].name == "not-modelled"

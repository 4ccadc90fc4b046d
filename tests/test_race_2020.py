"""Race B (2020): hole punch vs fault-around and vs page-cache fills (seed 000; reference section B)."""

import pytest

from mmfuzz.api import exhaust
from mmfuzz.api import fuzz, mutate

BUDGET = 4  # examples for a clean verdict (each runs hundreds of schedules)
FIND = 3000  # an upper bound for a racy one: the fuzzer stops at the first violation
NO_REUNMAP = {"truncate_inode_pages_range": "no-reunmap"}


def labels(r):
    return [label for _, label in r.schedule["steps"]]


def test_fault_around_xfs_v58_is_clean():
    # v5.8: no MMAPLOCK around ->map_pages; the page lock and truncate_cleanup_page() suffice
    r = fuzz("punch-vs-fault-around", "v5.8", seed=1, max_examples=BUDGET, options={"fs": "xfs"})
    assert not r.found, r.report


def test_fault_around_without_reunmap_leaves_a_pte_to_a_truncated_page():
    r = fuzz("punch-vs-fault-around", "v5.8", seed=1, max_examples=FIND, options={"fs": "xfs"},
             overrides=NO_REUNMAP)
    assert r.found and r.invariant == "no-stale-pte", r.report
    steps = labels(r)
    # Dave Chinner's trace: unmap, then fault-around maps under trylock, then truncate deletes
    first_unmap = next(i for i, s in enumerate(steps) if s.startswith("unmap_mapping_pages"))
    deleted = max(i for i, s in enumerate(steps) if "delete_from_page_cache" in s)
    assert any(first_unmap < i < deleted for i, s in enumerate(steps) if s.startswith("alloc_set_pte"))
    assert r.switches <= 3


def test_xfs_map_pages_wrapper_covers_fault_around_only():
    # cd647d5651c0: MMAPLOCK_SHARED around filemap_map_pages() serialises fault-around with the punch...
    r = fuzz("punch-vs-fault-around", "v5.9", seed=1, max_examples=BUDGET, options={"fs": "xfs"},
             overrides=NO_REUNMAP, counts={"fault": (1, 1)})
    assert not r.found, r.report
    # ...but not ->fault: finish_fault() sets the PTE after xfs_filemap_fault() dropped MMAPLOCK,
    # with only the page lock held; without the re-unmap under that lock, truncate deletes it
    # mapped. Three preemptions and two faults: about 1 fuzzed example in 2000 finds it, so
    # this claim is checked by running every schedule within the bound instead.
    r = exhaust("punch-vs-fault-around", "v5.9", options={"fs": "xfs"}, overrides=NO_REUNMAP,
                counts={"punch": (1, 1), "fault": (2, 2)}, params={"fault_index": 1, "prefaulted": False},
                max_preemptions=3)
    assert r.found and r.invariant == "no-stale-pte", r.report
    assert r.bound == 3
    assert any(label.startswith("filemap_fault") for label in labels(r))


def test_without_the_xfs_wrapper_the_reunmap_is_what_protects_v64():
    r = fuzz("punch-vs-fault-around", "v6.4", seed=1, max_examples=FIND, options={"fs": "xfs"},
             overrides=NO_REUNMAP)
    assert r.found and r.invariant == "no-stale-pte", r.report
    r = fuzz("punch-vs-fault-around", "v6.4", seed=1, max_examples=BUDGET, options={"fs": "xfs"})
    assert not r.found, r.report


def test_fill_generic_v59_exposes_stale_data():
    r = fuzz("punch-vs-fill", "v5.9", seed=1, max_examples=FIND, options={"fs": "generic"})
    assert r.found and r.invariant in ("no-stale-data", "hole-reads-zero"), r.report


@pytest.mark.parametrize("actor", ["fault", "read", "fadvise"])
def test_each_fill_path_races_on_generic_v59(actor):
    counts = {k: (1, 1) if k == actor else (0, 0) for k in ("fault", "read", "fadvise")}
    r = fuzz("punch-vs-fill", "v5.9", seed=2, max_examples=FIND, options={"fs": "generic"}, counts=counts)
    assert r.found and r.invariant in ("no-stale-data", "hole-reads-zero"), (actor, r.report)


@pytest.mark.parametrize("kernel,fs", [("v5.9", "xfs"), ("v5.15", "generic"), ("v5.15", "xfs")])
def test_fill_is_clean(kernel, fs):
    r = fuzz("punch-vs-fill", kernel, seed=1, max_examples=BUDGET, options={"fs": fs})
    assert not r.found, r.report


EXT4 = {"fs": "ext4"}
FILLERS = ("fault", "read", "fadvise")


def only(actor: str) -> dict:
    return {"punch": (1, 1), "reuse": (0, 0)} | {k: (1, 1) if k == actor else (0, 0) for k in FILLERS}


def test_ext4_v59_faults_are_serialised_by_i_mmap_sem():
    # ea3d7209ca01 (v4.5): ext4_filemap_fault() and the punch share i_mmap_sem
    r = exhaust("punch-vs-fill", "v5.9", options=EXT4, counts=only("fault"), params={"read_index": 0},
                max_preemptions=2)
    assert not r.found and r.complete, r.report
    # the same fault path without it (the generic fs) is racy
    r = exhaust("punch-vs-fill", "v5.9", options={"fs": "generic"}, counts=only("fault"), max_preemptions=2)
    assert r.found and r.invariant in ("no-stale-data", "hole-reads-zero"), r.report


@pytest.mark.parametrize("actor", ["read", "fadvise"])
def test_ext4_v59_read_and_readahead_fill_the_hole(actor):
    r = exhaust("punch-vs-fill", "v5.9", options=EXT4, counts=only(actor), max_preemptions=1)
    assert r.found and r.invariant in ("no-stale-data", "hole-reads-zero") and r.bound == 1, r.report


@pytest.mark.parametrize("actor,mutant", [("read", {"page_cache_ra_unbounded": "v5.8"}),
                                          ("fadvise", {"page_cache_ra_unbounded": "v5.8"}),
                                          ("fault", {"filemap_fault": "v5.8"})])
def test_ext4_v515_rests_on_invalidate_lock(actor, mutant):
    r = exhaust("punch-vs-fill", "v5.15", options=EXT4, counts=only(actor), params={"read_index": 0},
                max_preemptions=2)
    assert not r.found and r.complete, r.report
    # the fill path of v5.8 (no invalidate_lock) on v5.15 ext4: the stale data is back
    r = exhaust("punch-vs-fill", "v5.15", options=EXT4, overrides=mutant, counts=only(actor), max_preemptions=2)
    assert r.found and r.invariant in ("no-stale-data", "hole-reads-zero"), r.report


TRUNCATE = "truncate-vs-fault-around"
FAULT_READ = {"truncate": (1, 1), "fault": (1, 1), "read": (1, 1)}
FAULT_ONLY = {"truncate": (1, 1), "fault": (1, 1), "read": (0, 0)}


def test_truncate_fault_around_needs_its_isize_check():
    """read() leaves a page beyond the new EOF in the cache (it checks i_size only to
    copy); fault-around's max_idx check under the page lock is all that keeps it unmapped."""
    mutant = {"filemap_map_pages": "mutant-no-isize-check"}
    r = exhaust(TRUNCATE, "v5.9", overrides=mutant, counts=FAULT_READ, max_preemptions=1)
    assert r.found and r.invariant == "no-pte-beyond-eof" and r.bound == 1, r.report
    steps = labels(r)
    created = next(i for i, s in enumerate(steps) if s.startswith("generic_file_buffered_read: add_to_page_cache_lru"))
    mapped = max(i for i, s in enumerate(steps) if s.startswith("alloc_set_pte"))
    assert created < mapped
    r = exhaust(TRUNCATE, "v5.9", counts=FAULT_READ, max_preemptions=1)
    assert not r.found and r.complete, r.report


def test_truncate_fault_needs_its_isize_recheck_under_the_page_lock():
    """A fault that passed filemap_fault()'s first i_size check before the truncate
    creates the page again after it; only the re-check under the page lock SIGBUSes."""
    r = exhaust(TRUNCATE, "v5.9", overrides={"filemap_fault": "mutant-no-isize-recheck"}, counts=FAULT_ONLY,
                max_preemptions=2)
    assert r.found and r.invariant == "no-pte-beyond-eof", r.report
    assert any(s.startswith("filemap_fault: page = pagecache_get_page") for s in labels(r))
    r = exhaust(TRUNCATE, "v5.9", counts=FAULT_ONLY, max_preemptions=2)
    assert not r.found and r.complete, r.report


# truncate(2) on the real filesystems: ext4_setattr() and xfs_vn_setattr() hold their fs
# lock (i_mmap_sem / MMAPLOCK, invalidate_lock from v5.15) from before i_size changes until
# the blocks are freed; read() past EOF leaves a page there until 8c8387ee3f55 (v5.16)
TWO_FAULTS = {"truncate": (1, 1), "fault": (2, 2), "read": (0, 0)}
NO_MAP_CHECK = {"filemap_map_pages": "mutant-no-isize-check"}
LAST_TRUNCATE_STEP = {"ext4": "ext4_remove_space:", "xfs": "xfs_itruncate_extents:"}


@pytest.mark.parametrize("fs", ["ext4", "xfs"])
def test_truncate_v59_fault_around_maps_the_page_a_read_past_eof_left(fs):
    """The fs lock keeps ->fault out of the truncate, not read(): a read() at the new EOF
    after the truncate creates and reads a page there and leaves it; fault-around's
    i_size check under the page lock is what keeps it unmapped."""
    r = exhaust(TRUNCATE, "v5.9", options={"fs": fs}, overrides=NO_MAP_CHECK, counts=FAULT_READ, max_preemptions=1)
    assert r.found and r.invariant == "no-pte-beyond-eof", r.report
    steps = labels(r)
    freed = max(i for i, s in enumerate(steps) if s.startswith(LAST_TRUNCATE_STEP[fs]))
    created = next(i for i, s in enumerate(steps) if s.startswith("generic_file_buffered_read: add_to_page_cache_lru"))
    mapped = max(i for i, s in enumerate(steps) if s.startswith("alloc_set_pte"))
    assert freed < created < mapped
    r = exhaust(TRUNCATE, "v5.9", options={"fs": fs}, counts=FAULT_READ, max_preemptions=1)
    assert not r.found and r.complete, r.report


@pytest.mark.parametrize("fs", ["ext4", "xfs"])
def test_truncate_v59_fault_recheck_is_redundant_with_the_fs_lock(fs):
    """Before v5.15 ->fault runs under the lock the truncate holds across the i_size
    change: without filemap_fault()'s re-check under the page lock, still clean, even
    with two faults (one could leave a page for the other's fault-around)."""
    r = exhaust(TRUNCATE, "v5.9", options={"fs": fs}, overrides={"filemap_fault": "mutant-no-isize-recheck"},
                counts=TWO_FAULTS, params={"cached": False}, max_preemptions=2)
    assert not r.found and r.complete, r.report


@pytest.mark.parametrize("fs", ["ext4", "xfs"])
def test_truncate_v515_fault_needs_its_recheck_again(fs):
    """v5.15's filemap_fault() takes invalidate_lock only to create or read a page, and
    drops it before the re-check: a fault that passed the first i_size check waits for
    the truncate on invalidate_lock, then creates the page beyond EOF; only the re-check
    under the page lock SIGBUSes."""
    mutant = {"filemap_fault": "mutant-v5.15-no-isize-recheck"}
    r = exhaust(TRUNCATE, "v5.15", options={"fs": fs}, overrides=mutant, counts=FAULT_ONLY,
                params={"cached": False}, max_preemptions=2)
    assert r.found and r.invariant == "no-pte-beyond-eof", r.report
    steps = labels(r)
    checked = next(i for i, s in enumerate(steps) if s.startswith("filemap_fault: max_off"))
    size_set = next(i for i, s in enumerate(steps) if "i_size_write" in s)
    created = next(i for i, s in enumerate(steps) if s.startswith("filemap_fault: page = pagecache_get_page"))
    assert checked < size_set < created
    r = exhaust(TRUNCATE, "v5.15", options={"fs": fs}, counts=FAULT_ONLY, params={"cached": False}, max_preemptions=2)
    assert not r.found and r.complete, r.report


def test_xfs_read_stops_at_eof_from_v516():
    """8c8387ee3f55: filemap_read() checks i_size before it looks up a page. On v6.4 XFS
    (read() under IOLOCK) no read leaves a page beyond EOF for fault-around without its
    check; v5.15's read() does. A second fault still can (its ->fault SIGBUSes after
    creating the page)."""
    r = exhaust(TRUNCATE, "v6.4", options={"fs": "xfs"}, overrides=NO_MAP_CHECK, counts=FAULT_READ,
                params={"cached": False}, max_preemptions=2)
    assert not r.found and r.complete, r.report
    r = exhaust(TRUNCATE, "v5.15", options={"fs": "xfs"}, overrides=NO_MAP_CHECK, counts=FAULT_READ,
                params={"cached": False}, max_preemptions=1)
    assert r.found and r.invariant == "no-pte-beyond-eof", r.report
    r = exhaust(TRUNCATE, "v6.4", options={"fs": "xfs"}, overrides=NO_MAP_CHECK, counts=TWO_FAULTS,
                params={"cached": False}, max_preemptions=1)
    assert r.found and r.invariant == "no-pte-beyond-eof", r.report
    assert sum(s.startswith("filemap_fault: page = pagecache_get_page") for s in labels(r)) >= 1


def test_truncate_xfs_v58_fault_around_trylock_matters_beyond_two_preemptions():
    """Without MMAPLOCK around ->map_pages (v5.8), fault-around that passed its checks
    on a page read() created maps it after the truncate deleted it, unless it holds the
    page lock: the race needs read(), fault-around, then the truncate to run, three
    preemptions, so mutate's two-preemption verdict calls this trylock not needed."""
    site = "trylock_page(page) in filemap_map_pages"
    for bound, verdict in ((2, "clean"), (3, "racy")):
        m = mutate(TRUNCATE, "v5.8", options={"fs": "xfs"}, counts=FAULT_READ, params={"cached": False},
                   max_preemptions=bound, only=[site], baseline=False)
        assert [(r.mutant.name, r.verdict) for r in m.results] == [(site, verdict)], m.results
    assert m.results[0].invariant == "no-pte-beyond-eof" and m.results[0].preemptions == 3

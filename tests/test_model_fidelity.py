"""Model fidelity: page-table geometry and the stores and loads kernel code makes visible.

Each test runs the real code paths through the engine and would fail on the model
before the fix it names.
"""

from mmfuzz.api import Run, prepare
from mmfuzz.model.mm import get, slot
from mmfuzz.model.pgtable import HPAGE_PMD_NR, addr_end

BAR_PMD = {"bar_align": "pmd", "prefaulted": True}
BAR_PUD = {"bar_align": "pud", "prefaulted": True}


def make_run(kernel, population, params, scenario="pagewalk", overrides=None):
    scen, versions, kernel_cls = prepare(scenario, kernel, overrides)
    return Run(scen, kernel_cls, population, params, versions)


def labels(run, tid=None):
    return [s.label for s in run.trace if tid is None or s.tid == tid]


def step_until(run, tid, label):
    """Run task tid alone until its next step is `label`."""
    while run.next_label(run.tasks[tid]) != label:
        assert run.tasks[tid].alive, f"task {tid} never reached {label!r}"
        run.step(tid)


def test_addr_end_steps_by_the_entrys_own_size():
    # pmd_addr_end(): the end of the PMD entry that maps addr, as in the kernel
    assert addr_end("pmd", 0x14, 0x40) == 0x18
    assert addr_end("pud", 0x14, 0x40) == 0x20
    assert addr_end("pte", 0x14, 0x40) == 0x15
    assert addr_end("pmd", 0x14, 0x16) == 0x16


def test_a_walker_visits_both_pmds_of_a_two_pmd_bar():
    run = make_run("v7.0", ["numa_maps"], BAR_PMD)
    run.finish()
    # gather_pte_stats() runs once per populated PMD
    assert labels(run).count("pmd_trans_huge_lock: pmd_trans_huge(*pmd)") == 2


def test_the_bar_zap_takes_each_pmd_leaf_whole():
    run = make_run("v7.0", ["vfio_zap"], BAR_PMD)
    run.finish()
    steps = labels(run)
    # zap_pmd_range(): a whole-entry range goes to zap_huge_pmd(), not __split_huge_pmd()
    assert sum(1 for s in steps if s.startswith("zap_huge_pmd: spin_lock")) == 2
    assert not any(s.startswith("__split_huge_pmd") for s in steps)
    s = run.state
    vma = s.mm.find_vma("bar0")
    for addr in range(vma.start, vma.end, HPAGE_PMD_NR):
        assert get(s.mem, slot(s.mem, s.mm, addr, "pmd")).kind == "none"


def test_splitting_the_huge_zero_pmd_shows_a_none_pmd_to_lockless_readers():
    run = make_run("v6.12", ["pte_walker"], BAR_PUD)
    step_until(run, 0, "__split_huge_zero_page_pmd: pmd_populate(mm, pmd, pgtable)")
    s = run.state
    pmd = slot(s.mem, s.mm, s.mm.find_vma("anon").start, "pmd")
    # pmdp_huge_clear_flush() has run, pmd_populate() not yet: pmd_none(*pmd) is true
    assert get(s.mem, pmd).kind == "none"
    run.finish()
    assert get(s.mem, pmd).kind == "table"


def test_a_zap_between_the_two_pud_loads_sends_the_fault_to_pmd_alloc():
    run = make_run("v6.12", ["vfio_fault", "vfio_fault", "vfio_zap"], {"bar_align": "pud", "prefaulted": False})
    fault, other, zap = 0, 1, 2
    # the first lookup found nothing; the other fault installs the PUD leaf meanwhile
    step_until(run, fault, "__handle_mm_fault: pud_none(*vmf->pud)")
    while run.tasks[other].alive:
        run.step(other)
    # pud_none(*vmf->pud) sees the leaf; the zap clears it before orig_pud = *vmf->pud
    step_until(run, fault, "__handle_mm_fault: orig_pud = *vmf->pud")
    while run.tasks[zap].alive:
        run.step(zap)
    run.finish()
    s = run.state
    bar = s.mm.find_vma("bar0")
    # orig_pud is none, not a huge PUD: pmd_alloc() puts a PMD table under the BAR
    # and the fault installs a PMD leaf there
    assert get(s.mem, slot(s.mem, s.mm, bar.start, "pud")).kind == "table"
    assert get(s.mem, slot(s.mem, s.mm, bar.start, "pmd")).kind == "leaf"

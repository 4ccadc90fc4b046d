"""A last shrink, without Hypothesis, so that one race has one canonical schedule.

Hypothesis stops shrinking at a local minimum that depends on the seed: the same race
comes back with an extra idle actor or a detour through another task. Greedily
dropping tasks and segments, postponing and shortening segments, while the same invariant still
breaks at the same step, brings those to the same schedule, and so to the same
signature. Every candidate is a full deterministic re-execution (a few ms each).
"""

from __future__ import annotations

from .execute import execute, segments

MAX_TRIES = 3000  # executions; a shrunk race has tens of steps, this is never reached in practice


def _cost(population, run) -> tuple:
    return (len(population), run.switches(), len(run.trace))


def _drop_task(population, segs, victim):
    pop = population[:victim] + population[victim + 1:]
    out = []
    for tid, n in segs:
        if tid == victim:
            continue
        tid = tid - 1 if tid > victim else tid
        if out and out[-1][0] == tid:
            out[-1] = (tid, out[-1][1] + n)
        else:
            out.append((tid, n))
    return pop, out


def _candidates(scen, population, segs):
    mins = {a.kind: a.min for a in scen.actors}
    for victim, kind in enumerate(population):
        if population.count(kind) > mins.get(kind, 0):
            yield _drop_task(population, segs, victim)
    for j, (tid, n) in enumerate(segs):
        rest = segs[j + 1:]
        yield population, segs[:j] + rest
        # postpone the segment: its steps run at the task's next turn instead
        later = next((i for i, (t, _) in enumerate(rest) if t == tid), None)
        if later is not None:
            rest = rest[:later] + [(tid, rest[later][1] + n)] + rest[later + 1:]
            yield population, segs[:j] + rest
    for j, (tid, n) in enumerate(segs):
        for m in sorted({n // 2, n - 1}):
            if 0 < m < n:
                yield population, segs[:j] + [(tid, m)] + segs[j + 1:]


def minimize(scen, kernel_cls, versions, schedule: dict, invariant: str):
    """(schedule, violation) of the smallest run found breaking `invariant` at the same
    step; (None, None) if the schedule does not reproduce at all."""
    population, params = list(schedule["population"]), dict(schedule["params"])
    run, best = execute(scen, kernel_cls, versions, population, params, segments(schedule["steps"]))
    if best is None or best.invariant != invariant:
        return None, None
    last = run.trace[-1].label
    cost = _cost(population, run)
    tries = 0
    improved = True
    while improved and tries < MAX_TRIES:
        improved = False
        for pop, segs in _candidates(scen, population, segments(run.schedule_record()["steps"])):
            tries += 1
            cand_run, v = execute(scen, kernel_cls, versions, pop, params, segs)
            if (v is not None and v.invariant == invariant and cand_run.trace[-1].label == last
                    and _cost(pop, cand_run) < cost):
                population, run, best, cost = pop, cand_run, v, _cost(pop, cand_run)
                improved = True
                break
            if tries >= MAX_TRIES:
                break
    return run.schedule_record(), best

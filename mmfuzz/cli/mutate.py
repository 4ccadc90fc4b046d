"""`mmfuzz mutate`: which protections does a clean verdict rest on?

Explores the unmutated kernel, then each protection mutant (every lock acquisition
site the actors reach, elided; every declared mutant of the versions it runs) with the
same populations, parameters and bound, and prints one line per mutant.

Exit codes: 0 the verdict rests on something (a mutant is racy); 1 the clean verdict
does not stand: it is vacuous (no mutant breaks anything), or the unmutated kernel is
itself racy (not a clean verdict to mutate: the race is printed); 2 bad input; 3 the
check could not be completed (--max-runs) and no mutant was racy. With --mutant, only
those mutants run, and exit 1 means none of them breaks the verdict.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections import Counter

from .args import (EXIT_CLEAN, EXIT_FOUND, EXIT_INCOMPLETE, UsageError, add_races_flag, add_run_selection,
                   bound, parse_counts, parse_overrides, parse_params, positive, scenario_options)


def add_command(sub) -> None:
    p = sub.add_parser("mutate", help="remove one protection at a time: what does a clean verdict rest on?")
    p.add_argument("scenario")
    add_run_selection(p)
    p.add_argument("--actors", metavar="KIND=N,...",
                   help="one population (default: the scenario's small populations, explore_with)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="pin a scenario parameter (default: every combination)")
    p.add_argument("--preemptions", type=bound, default=2, metavar="N|all",
                   help="the bound of every exploration (default 2); all: every interleaving")
    p.add_argument("--max-runs", type=positive, default=200_000, help="schedules per exploration, at most")
    p.add_argument("--max-states", type=positive, default=250_000,
                   help="distinct states per exploration, at most (the stateful search: with all)")
    p.add_argument("--mutant", action="append", metavar="NAME",
                   help="run only this mutant ('STEP in FUNCTION' or 'PATH=VERSION'; repeatable)")
    p.add_argument("--show", action="store_true", help="print the race each racy mutant runs into")
    p.add_argument("--json", action="store_true",
                   help="a list of {mutant, kind, site, verdict, invariant, preemptions, schedules}")
    add_races_flag(p)
    p.set_defaults(handler=run_mutate)


def population_label(population: list[str]) -> str:
    return ",".join(f"{k}={n}" for k, n in Counter(population).items())


def run_mutate(args) -> int:
    from mmfuzz.api import mutate
    from mmfuzz.engine.mutate import CLEAN, RACY

    try:
        m = mutate(args.scenario, args.kernel, overrides=parse_overrides(args.overrides),
                   options=scenario_options(args), counts=parse_counts(args.actors) or None,
                   params=parse_params(args.param), max_preemptions=args.preemptions,
                   max_runs=args.max_runs, max_states=args.max_states, only=args.mutant)
    except ValueError as e:  # a parameter that only a strategy describes
        raise UsageError(str(e)) from None
    base = m.baseline
    if base.verdict == RACY:
        print(f"mmfuzz: not a clean verdict to mutate: {m.scenario} on {m.kernel} breaks {base.invariant} "
              f"unmutated, with {base.preemptions} preemption(s)", file=sys.stderr)
    if args.json:
        print(json.dumps([r.to_json() for r in ([base] if base.verdict == RACY else m.results)], indent=2))
    else:
        print_mutation(m, selected=args.mutant is not None, show=args.show)
    if base.verdict == RACY:
        return EXIT_FOUND
    if base.verdict != CLEAN:
        return EXIT_INCOMPLETE
    if m.rests_on:
        return EXIT_CLEAN
    return EXIT_INCOMPLETE if m.incomplete else EXIT_FOUND


def print_mutation(m, selected: bool = False, show: bool = False) -> None:
    from mmfuzz.engine.timeline import render_violation

    opts = "".join(f" --{k} {v}" for k, v in m.options.items())
    pops = "; ".join(population_label(p) for p in m.populations)
    base = m.baseline
    scope = "every interleaving" if m.bound is None else f"every schedule within {m.bound} preemption(s)"
    print(f"mmfuzz mutate: {m.scenario}{opts} on {m.kernel}, {scope} of {pops}")
    if base.verdict == "racy":
        print(f"unmutated: RACY, {base.invariant} with {base.preemptions} preemption(s)\n")
        print(render_violation(base.violation))
        return
    states = f"{base.states} states, " if base.states else ""
    print(f"unmutated: {base.verdict} ({states}{base.schedules} schedules, {base.seconds:.1f}s)\n")
    if base.verdict == "incomplete":
        print("INCOMPLETE (--max-runs or --max-states reached): no clean verdict to mutate, so no mutant ran; "
              "raise the budget or bound the search (--preemptions N)")
        return
    names = [r.mutant.name + (" (declared)" if r.mutant.kind == "declared" else "") for r in m.results]
    width = max([len(n) for n in names] + [20])
    for name, r in zip(names, m.results):
        inv = r.invariant or ("(not reached)" if r.reached is False else "-")
        pre = f"{r.preemptions} preemption(s)" if r.verdict == "racy" else "-"
        print(f"  {r.verdict:<10} {name:<{width}}  {inv:<20} {pre:<15} {r.schedules} schedules")
        if show and r.violation is not None:
            print("\n" + render_violation(r.violation) + "\n")
    print()
    if m.rests_on:
        rests = ", ".join(m.rests_on)
    elif m.incomplete:
        rests = "nothing found, but some mutants are incomplete"
    elif selected:
        rests = f"none of these {len(m.results)} mutant(s)"
    else:
        rests = "NOTHING: the clean verdict is vacuous"
    for line in ("this verdict rests on: " + rests, "not needed here: " + (", ".join(m.not_needed) or "-")):
        print(textwrap.fill(line, width=100, subsequent_indent="    ", break_on_hyphens=False))
    if m.incomplete:
        print("INCOMPLETE (--max-runs or --max-states reached): " + ", ".join(m.incomplete))
    print(f"({len(m.results)} mutants, {m.seconds:.1f}s)")

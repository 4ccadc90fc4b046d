"""`mmfuzz explore`: every schedule of one population, within a preemption bound or all."""

from __future__ import annotations

import json

from .output import add_output_flags, add_replay_string, race_report
from .args import (UsageError, add_races_flag, add_run_selection, at_least_one, bound, exit_code, parse_counts,
                   parse_overrides, parse_params, positive, scenario_options)


def add_command(sub) -> None:
    p = sub.add_parser("explore", help="run every schedule with up to N preemptions, or every schedule")
    p.add_argument("scenario")
    add_run_selection(p)
    p.add_argument("--preemptions", type=bound, default=2, metavar="N|all",
                   help="the bound: schedules with at most N preemptions (default 2); "
                        "all: every interleaving")
    p.add_argument("--max-runs", type=at_least_one, default=200_000,
                   help="stop after this many runs (then: INCOMPLETE, exit 3)")
    p.add_argument("--max-states", type=positive, default=250_000,
                   help="stop after this many distinct states (bounds memory: about 3 KiB a state)")
    p.add_argument("--prune", action="store_true",
                   help="with N: the stateful search (states explored once), not one run per schedule")
    p.add_argument("--reduce", action="store_true",
                   help="with all: the partial-order reduction (one order of steps that touch "
                        "different data): the same verdict, fewer states where CPUs share little")
    p.add_argument("--actors", metavar="KIND=N,...", help="the population (default: one of each kind)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="pin a scenario parameter (default: every combination)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead of text (docs/schemas/result.schema.json)")
    add_output_flags(p)
    add_races_flag(p)
    p.set_defaults(handler=run_explore)


def run_explore(args) -> int:
    from mmfuzz.api import exhaust, get_scenario
    from mmfuzz.engine.target import check_counts

    counts = parse_counts(args.actors)
    scen = get_scenario(args.scenario, scenario_options(args))
    check_counts(scen, counts)
    for a in scen.actors:  # unnamed kinds: one of each (or the minimum, if more)
        counts.setdefault(a.kind, (a.min, max(a.min, min(1, a.max))))
    stateful = args.prune or args.preemptions is None
    try:
        result = exhaust(args.scenario, args.kernel, overrides=parse_overrides(args.overrides),
                         options=scenario_options(args), counts=counts, params=parse_params(args.param),
                         max_preemptions=args.preemptions, max_runs=args.max_runs,
                         max_states=args.max_states, prune=args.prune, reduce=args.reduce)
    except ValueError as e:  # a parameter that only a strategy describes
        raise UsageError(str(e)) from None
    cost = f"{result.schedules} schedules, {result.seconds:.1f} s, peak RSS {result.peak_rss_mb:.0f} MiB"
    counted = (f"{result.states} distinct states, " if stateful else "") + cost
    if args.json:
        print(json.dumps(add_replay_string(result.to_json(), result), indent=2))
    elif result.found:
        print(race_report(result, args))
        print(f"\nfound with {result.preemptions} preemption(s) ({counted}); "
              f"{result.steps} steps, {result.switches} switches")
    elif not result.complete:
        print(f"mmfuzz: {result.scenario} on {result.kernel}: INCOMPLETE after {result.states} states "
              f"({cost}): --max-runs or --max-states reached; no violation so far")
    else:
        scope = ("in any interleaving" if args.preemptions is None
                 else f"in every schedule with up to {args.preemptions} preemption(s)")
        print(f"mmfuzz: {result.scenario} on {result.kernel}: no violation {scope} ({counted})")
    return exit_code(result.found, not result.complete)

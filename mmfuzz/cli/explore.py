"""`mmfuzz explore`: every schedule of one population within a preemption bound."""

from __future__ import annotations

import json

from .output import add_output_flags, add_replay_string, race_report
from .args import (UsageError, add_races_flag, add_run_selection, at_least_one, exit_code, parse_counts,
                   parse_overrides, parse_params, positive, scenario_options)


def add_command(sub) -> None:
    p = sub.add_parser("explore", help="run every schedule with up to N preemptions (exhaustive)")
    p.add_argument("scenario")
    add_run_selection(p)
    p.add_argument("--preemptions", type=positive, default=2,
                   help="the bound: schedules with at most this many preemptions (default 2)")
    p.add_argument("--max-runs", type=at_least_one, default=200_000,
                   help="stop after this many schedules (then: INCOMPLETE, exit 3)")
    p.add_argument("--actors", metavar="KIND=N,...", help="the population (default: one of each kind)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="pin a scenario parameter (default: every combination)")
    p.add_argument("--json", action="store_true")
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
    try:
        result = exhaust(args.scenario, args.kernel, overrides=parse_overrides(args.overrides),
                         options=scenario_options(args), counts=counts, params=parse_params(args.param),
                         max_preemptions=args.preemptions, max_runs=args.max_runs)
    except ValueError as e:  # a parameter that only a strategy describes
        raise UsageError(str(e)) from None
    if args.json:
        print(json.dumps(add_replay_string(result.to_json(), result), indent=2))
    elif result.found:
        print(race_report(result, args))
        print(f"\nfound with {result.bound} preemption(s) after {result.examples} schedules, "
              f"{result.seconds:.1f}s; {result.steps} steps, {result.switches} switches")
    else:
        scope = "every schedule" if result.complete else "INCOMPLETE: --max-runs reached before all schedules"
        print(f"mmfuzz: {result.scenario} on {result.kernel}: no violation; {scope} with up to "
              f"{args.preemptions} preemption(s) ({result.examples} schedules, {result.seconds:.1f}s)")
    return exit_code(result.found, not result.complete)

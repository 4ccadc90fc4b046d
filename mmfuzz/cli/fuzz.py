"""`mmfuzz fuzz`: the Hypothesis state machine on one scenario and kernel."""

from __future__ import annotations

import json
import sys

from .output import add_output_flags, add_replay_string, race_report
from .args import (EXIT_CLEAN, EXIT_FOUND, EXIT_USAGE, add_races_flag, add_run_selection, at_least_one,
                   parse_counts, parse_overrides, parse_params, positive, scenario_options)
from .save import SaveFailed, add_save_flag, print_saved, save_found


def add_command(sub) -> None:
    p = sub.add_parser("fuzz", help="fuzz one scenario against one kernel")
    p.add_argument("scenario")
    add_run_selection(p)
    p.add_argument("--seed", type=positive)
    p.add_argument("--max-examples", type=at_least_one, help="the budget (default: the profile's)")
    p.add_argument("--profile", help="Hypothesis settings profile (ci, nightly)")
    p.add_argument("--actors", metavar="KIND=N|MIN-MAX,...", help="how many of each actor")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="pin a scenario parameter (JSON value: pud, true, 3)")
    p.add_argument("--json", action="store_true")
    add_output_flags(p)
    add_save_flag(p)
    add_races_flag(p)
    p.set_defaults(handler=run_fuzz)


def run_fuzz(args) -> int:
    from mmfuzz.api import fuzz, get_scenario
    from mmfuzz.engine.target import check_counts

    counts = parse_counts(args.actors)
    check_counts(get_scenario(args.scenario, scenario_options(args)), counts)
    result = fuzz(args.scenario, args.kernel, overrides=parse_overrides(args.overrides),
                  options=scenario_options(args), counts=counts,
                  params=parse_params(args.param),
                  seed=args.seed, max_examples=args.max_examples, profile=args.profile)
    saved, failed = None, None
    if args.save and result.found:
        try:
            saved = save_found(result, args)
        except SaveFailed as e:  # the race is printed all the same: it must not be lost
            failed = e
    if args.json:
        out = add_replay_string(result.to_json(), result)
        if saved:
            out["corpus"] = saved
        print(json.dumps(out, indent=2))
    elif result.found:
        print(race_report(result, args))
        print(f"\nfound in {result.examples} examples, {result.seconds:.1f}s; "
              f"shrunk to {result.steps} steps, {result.switches} switches")
        if saved:
            print_saved(saved)
    else:
        print(f"mmfuzz: {result.scenario} on {result.kernel}: no violation in "
              f"{result.examples} examples ({result.seconds:.1f}s)")
    if failed is not None:
        print(f"mmfuzz: error: {failed}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FOUND if result.found else EXIT_CLEAN

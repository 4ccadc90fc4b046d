"""`mmfuzz diff`: one scenario's verdict on several kernels, side by side."""

from __future__ import annotations

import json

from .args import (EXIT_CLEAN, EXIT_FOUND, EXIT_INCOMPLETE, UsageError, add_races_flag, parse_counts,
                   parse_overrides, positive, scenario_options)


def add_verdict_flags(p) -> None:
    """What decides a verdict on one kernel: the explorer's bound and population."""
    p.add_argument("--with", dest="overrides", action="append", metavar="PATH=VERSION",
                   help="run one code path in another version on every kernel (repeatable)")
    p.add_argument("--fs", help="filesystem, for scenarios that take one")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="any scenario option")
    p.add_argument("--actors", metavar="KIND=N,...",
                   help="one population (default: the scenario's explore_with populations)")
    p.add_argument("--preemptions", type=positive, default=2,
                   help="the explorer's bound on each kernel (default 2)")
    p.add_argument("--max-runs", type=positive, default=200_000, help="schedules per population at most")
    p.add_argument("--json", action="store_true")
    add_races_flag(p)


def verdict_kwargs(args) -> dict:
    counts = parse_counts(args.actors)
    if any(lo != hi for lo, hi in counts.values()):
        raise UsageError("--actors takes exact counts here (KIND=N)")
    return dict(overrides=parse_overrides(args.overrides), options=scenario_options(args),
                population={k: lo for k, (lo, _) in counts.items()} or None,
                max_preemptions=args.preemptions, max_runs=args.max_runs)


def add_command(sub) -> None:
    p = sub.add_parser("diff", help="one scenario's verdict on several kernels, side by side")
    p.add_argument("scenario")
    p.add_argument("--kernels", nargs="+", required=True, metavar="KERNEL")
    add_verdict_flags(p)
    p.set_defaults(handler=run_diff)


def verdict_line(v) -> str:
    if v.status == "racy":
        pop = ",".join(f"{k}={n}" for k, n in v.population.items())
        return f"racy   {v.invariant} ({v.preemptions} preemption(s), {pop})"
    if v.status == "incomplete":
        return "INCOMPLETE: --max-runs reached"
    return "clean"


def run_diff(args) -> int:
    from mmfuzz.api import load_races
    from mmfuzz.engine.verdict import changed_paths, verdict

    load_races()
    kw = verdict_kwargs(args)
    verdicts = [verdict(args.scenario, k, **kw) for k in dict.fromkeys(args.kernels)]
    if args.json:
        print(json.dumps({"scenario": args.scenario, "preemptions": args.preemptions,
                          "verdicts": [v.to_json() for v in verdicts]}, indent=2))
    else:
        print(f"mmfuzz diff: {args.scenario}, every schedule within {args.preemptions} preemption(s)")
        for v in verdicts:
            print(f"  {v.kernel:<10} {verdict_line(v)}  [{v.schedules} schedules]")
        changed = changed_paths(verdicts[0], verdicts[-1]) if len(verdicts) > 1 else {}
        paths = sorted({p for a, b in zip(verdicts, verdicts[1:]) for p in changed_paths(a, b)} | set(changed))
        if paths:
            print("code paths that differ:")
            for p in paths:
                print(f"  {p}: " + " | ".join(f"{v.kernel} {v.versions.get(p, '-')}" for v in verdicts))
    if any(v.status == "racy" for v in verdicts):
        return EXIT_FOUND
    return EXIT_INCOMPLETE if any(v.status == "incomplete" for v in verdicts) else EXIT_CLEAN

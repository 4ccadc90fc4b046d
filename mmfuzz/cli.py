"""The `mmfuzz` command: list what is modelled, fuzz a scenario against a kernel."""

from __future__ import annotations

import argparse
import json
import sys

from mmfuzz.engine.versions import UnknownName

EXIT_CLEAN, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr and exit 2, never a usage dump."""

    def error(self, message):
        raise UsageError(message)


def key_value(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise UsageError(f"{what} takes KEY=VALUE, not {text!r}")
    return key, value


def parse_overrides(items) -> dict[str, str]:
    return dict(key_value(i, "--with") for i in items or ())


def parse_counts(text: str | None) -> dict[str, tuple[int, int]]:
    """--actors numa_maps=1,vfio_fault=0-2"""
    counts = {}
    for part in (text or "").split(","):
        if not part:
            continue
        kind, value = key_value(part, "--actors")
        lo, _, hi = value.partition("-")
        try:
            counts[kind] = (int(lo), int(hi or lo))
        except ValueError:
            raise UsageError(f"--actors {kind}: {value!r} is not N or MIN-MAX") from None
    return counts


def parse_params(items) -> dict:
    params = {}
    for item in items or ():
        name, value = key_value(item, "--param")
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value  # a bare word: a string
    return params


def positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return n


def add_run_selection(p: argparse.ArgumentParser) -> None:
    """The flags that pick what runs: kernel, path overrides, scenario options."""
    p.add_argument("--kernel", required=True, help="named kernel, e.g. v6.12 (see `mmfuzz list`)")
    p.add_argument("--with", dest="overrides", action="append", metavar="PATH=VERSION",
                   help="run one code path in another version (repeatable)")
    p.add_argument("--fs", help="filesystem, for scenarios that take one (xfs, generic)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="any scenario option")


def scenario_options(args) -> dict[str, str]:
    opts = dict(key_value(o, "--option") for o in args.option or ())
    if args.fs:
        opts["fs"] = args.fs
    return opts


# -- mmfuzz list -------------------------------------------------------------------------
def listing() -> dict:
    from mmfuzz.engine.scenario import SCENARIOS
    from mmfuzz.engine.versions import PATHS, RELEASES, load_all, release_key, select

    load_all()
    kernels = []
    for name in sorted(RELEASES, key=release_key):
        chosen = select(name)
        kernels.append({"name": name, "note": RELEASES[name].note,
                        "versions": {p: v.name for p, v in sorted(chosen.items())}})
    return {
        "scenarios": [{"name": s.name, "doc": s.doc, "paths": list(s.paths),
                       "actors": [{"kind": a.kind, "title": a.title, "min": a.min, "max": a.max} for a in s.actors],
                       "options": {k: list(v) for k, v in s.options.items()}}
                      for s in sorted(SCENARIOS.values(), key=lambda s: s.name)],
        "paths": [{"name": p.name, "file": p.file, "doc": p.doc,
                   "versions": [{"name": v.name, "since": v.since, "commit": v.commit,
                                 "models": v.models, "racy": v.racy, "doc": v.doc} for v in p.versions.values()]}
                  for p in sorted(PATHS.values(), key=lambda p: p.name)],
        "kernels": kernels,
    }


def print_listing(data: dict) -> None:
    print("SCENARIOS")
    for s in data["scenarios"]:
        print(f"  {s['name']:<24} {s['doc']}")
        actors = ", ".join(f"{a['kind']} ({a['min']}-{a['max']})" for a in s["actors"])
        print(f"  {'':<24} actors: {actors}")
        for k, v in s["options"].items():
            print(f"  {'':<24} --{k} {'|'.join(v)}")
    print("\nCODE PATHS (version: since release, what it models)")
    for p in data["paths"]:
        print(f"  {p['name']}  [{p['file']}]  {p['doc']}")
        for v in p["versions"]:
            since = f"since {v['since']}" if v["since"] else "alternative, --with only"
            print(f"    {v['name']:<20} {since:<26} {v['models']}")
            if v["racy"]:
                print(f"    {'':<20} {'':<26} racy: {v['racy']}")
    print("\nKERNELS")
    for k in data["kernels"]:
        print(f"  {k['name']:<10} {k['note']}")


# -- mmfuzz fuzz -------------------------------------------------------------------------
def run_fuzz(args) -> int:
    from mmfuzz.engine.explore import fuzz

    result = fuzz(args.scenario, args.kernel, overrides=parse_overrides(args.overrides),
                  options=scenario_options(args), counts=parse_counts(args.actors),
                  params=parse_params(args.param),
                  seed=args.seed, max_examples=args.max_examples, profile=args.profile)
    saved = None
    if args.save and result.found:
        from mmfuzz.corpus.cli import print_saved, save_found

        saved = save_found(result, args)
    if args.json:
        out = result.to_json()
        if saved:
            out["corpus"] = saved
        print(json.dumps(out, indent=2))
    elif result.found:
        print(result.report)
        print(f"\nfound in {result.examples} examples, {result.seconds:.1f}s; "
              f"shrunk to {result.steps} steps, {result.switches} switches")
        if saved:
            print_saved(saved)
    else:
        print(f"mmfuzz: {result.scenario} on {result.kernel}: no violation in "
              f"{result.examples} examples ({result.seconds:.1f}s)")
    return EXIT_FOUND if result.found else EXIT_CLEAN


def run_explore(args) -> int:
    from mmfuzz.engine.exhaustive import exhaust
    from mmfuzz.engine.scenario import get_scenario

    counts = parse_counts(args.actors)
    scen = get_scenario(args.scenario, scenario_options(args))
    for a in scen.actors:  # unnamed kinds: one of each (or the minimum, if more)
        counts.setdefault(a.kind, (a.min, max(a.min, min(1, a.max))))
    try:
        result = exhaust(args.scenario, args.kernel, overrides=parse_overrides(args.overrides),
                         options=scenario_options(args), counts=counts, params=parse_params(args.param),
                         max_preemptions=args.preemptions, max_runs=args.max_runs)
    except ValueError as e:  # a parameter that only a strategy describes
        raise UsageError(str(e)) from None
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    elif result.found:
        print(result.report)
        print(f"\nfound with {result.bound} preemption(s) after {result.examples} schedules, "
              f"{result.seconds:.1f}s; {result.steps} steps, {result.switches} switches")
    else:
        scope = "every schedule" if result.complete else "INCOMPLETE: --max-runs reached before all schedules"
        print(f"mmfuzz: {result.scenario} on {result.kernel}: no violation; {scope} with up to "
              f"{args.preemptions} preemption(s) ({result.examples} schedules, {result.seconds:.1f}s)")
    return EXIT_FOUND if result.found else EXIT_CLEAN


def build_parser() -> Parser:
    parser = Parser(prog="mmfuzz", description="Find races in Linux MM code paths.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("list", help="scenarios, code paths with their versions, named kernels")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("fuzz", help="fuzz one scenario against one kernel")
    p.add_argument("scenario")
    add_run_selection(p)
    p.add_argument("--seed", type=positive)
    p.add_argument("--max-examples", type=positive)
    p.add_argument("--profile", help="Hypothesis settings profile (ci, nightly)")
    p.add_argument("--actors", metavar="KIND=N|MIN-MAX,...", help="how many of each actor")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="pin a scenario parameter (JSON value: pud, true, 3)")
    p.add_argument("--json", action="store_true")
    from mmfuzz.corpus.cli import add_replay_command, add_save_flag

    add_save_flag(p)

    p = sub.add_parser("explore", help="run every schedule with up to N preemptions (exhaustive)")
    p.add_argument("scenario")
    add_run_selection(p)
    p.add_argument("--preemptions", type=positive, default=2,
                   help="the bound: schedules with at most this many preemptions (default 2)")
    p.add_argument("--max-runs", type=positive, default=200_000, help="stop after this many schedules")
    p.add_argument("--actors", metavar="KIND=N,...", help="the population (default: one of each kind)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="pin a scenario parameter (default: every combination)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_explore)

    add_replay_command(sub)
    from mmfuzz.campaign.cli import add_campaign_command

    add_campaign_command(sub)
    return parser


def main(argv=None) -> int:
    from mmfuzz import profiles

    profiles.register()
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            data = listing()
            if args.json:
                print(json.dumps(data, indent=2))
            else:
                print_listing(data)
            return EXIT_CLEAN
        return args.handler(args) if hasattr(args, "handler") else run_fuzz(args)
    except (UsageError, UnknownName) as e:
        print(f"mmfuzz: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mmfuzz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""`mmfuzz replay`: re-run corpus entries; does each race still happen?"""

from __future__ import annotations

import json
from pathlib import Path

from .output import add_output_flags
from .args import EXIT_CLEAN, EXIT_FOUND, UsageError, add_races_flag, add_run_selection, exit_code, parse_overrides


def add_command(sub) -> None:
    p = sub.add_parser("replay", help="replay corpus entries: does each race still happen?")
    p.add_argument("paths", nargs="*", metavar="PATH", help="entry files or corpus folders")
    p.add_argument("--schedule", metavar="STRING",
                   help="replay one race given as its replay string (printed under every race found)")
    add_run_selection(p)
    # --kernel is optional here: without it each entry replays on its recorded versions
    for action in p._actions:
        if action.dest == "kernel":
            action.required = False
            action.help = "replay on this named kernel instead of the recorded versions"
    p.add_argument("--json", action="store_true")
    add_output_flags(p)
    add_races_flag(p)
    p.set_defaults(handler=run_replay)


def replay_file(path, entry, kernel, overrides):
    """One file's outcome; whatever goes wrong with one entry, the others still replay."""
    from mmfuzz.corpus.replay import BROKEN, SKIPPED, Outcome, replay
    from mmfuzz.corpus.schema import BadEntry
    from mmfuzz.corpus.store import Skipped

    if isinstance(entry, Skipped):
        return Outcome(Path(path).name, SKIPPED, path=str(path), message=str(entry))
    if isinstance(entry, BadEntry):
        return Outcome(Path(path).name, BROKEN, path=str(path), message=str(entry))
    try:
        out = replay(entry, kernel, overrides)
    except (RecursionError, MemoryError, TypeError, ValueError, KeyError, AttributeError) as e:
        return Outcome(entry.name, BROKEN, path=str(path),
                       message=f"{path}: cannot replay: {type(e).__name__}: {e}")
    out.path = str(path)
    return out


def run_replay(args) -> int:
    from mmfuzz.corpus.replay import INCOMPLETE, VIOLATES
    from mmfuzz.corpus.store import scan
    from mmfuzz.engine.versions import select

    if args.schedule is not None:
        if args.paths:
            raise UsageError("replay takes corpus PATHs or --schedule STRING, not both")
        return replay_schedule(args)
    if not args.paths:
        raise UsageError("replay needs corpus entry files or folders, or --schedule STRING")
    if args.fs or args.option:
        raise UsageError("replay runs each entry with its recorded scenario options; drop --fs/--option")
    overrides = parse_overrides(args.overrides)
    if args.kernel or overrides:
        select(args.kernel or "v7.0", overrides)  # UnknownName (exit 2) before any replay
    try:
        found = list(scan(args.paths))
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    outcomes = [replay_file(path, entry, args.kernel, overrides) for path, entry in found]
    counts = {s: sum(o.status == s for o in outcomes) for s in dict.fromkeys(o.status for o in outcomes)}
    if args.json:
        print(json.dumps({"outcomes": [o.to_json() for o in outcomes], "counts": counts}, indent=2))
    else:
        for o in outcomes:
            print(format_outcome(o))
        print(f"{len(outcomes)} entries: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return exit_code(any(o.status == VIOLATES for o in outcomes),
                     any(o.status in INCOMPLETE for o in outcomes))


def format_outcome(o) -> str:
    if o.status in ("broken", "skipped") and not o.kernel:
        return f"{o.status.upper():<9} {o.message}"
    where = f"{o.kernel} {o.mode}".strip()
    what = f"{o.invariant}: {o.message}" if o.invariant else o.message
    line = f"{o.status.upper():<9} {o.name}  [{where}]"
    if what:
        line += f"  {what}"
    if o.detail:
        line += f"  ({o.detail})"
    return line


def replay_schedule(args) -> int:
    """Run a replay string's schedule: on its own kernel and versions, or on --kernel
    (its `with:` paths kept unless --with names them)."""
    from mmfuzz.api import prepare
    from mmfuzz.corpus.execute import execute
    from mmfuzz.engine.result import header_for
    from mmfuzz.engine.replay_string import decode
    from mmfuzz.engine.target import check_params
    from mmfuzz.engine.timeline import render_violation
    from mmfuzz.engine.versions import source_links

    if args.fs or args.option:
        raise UsageError("a replay string carries its scenario options; drop --fs/--option")
    race = decode(args.schedule)
    kernel = args.kernel or race["kernel"]
    overrides = race["overrides"] | parse_overrides(args.overrides)
    scen, versions, kernel_cls = prepare(race["scenario"], kernel, overrides, race["options"])
    for kind in race["population"]:
        scen.actor(kind)  # UnknownName for an actor the scenario lacks
    if set(race["params"]) != set(scen.params):
        raise UsageError(f"scenario {scen.name} takes the parameters {', '.join(sorted(scen.params))}; "
                         f"the string gives {', '.join(sorted(race['params'])) or 'none'}")
    check_params(scen, race["params"])  # a value the scenario does not declare: exit 2
    run, violation = execute(scen, kernel_cls, versions, race["population"], race["params"], race["runs"])
    if args.json:
        print(json.dumps({"scenario": scen.name, "kernel": kernel, "found": violation is not None,
                          "invariant": violation.invariant if violation else None,
                          "message": violation.message if violation else None,
                          "steps": len(run.trace), "switches": run.switches()}, indent=2))
    elif violation is not None:
        sources = source_links(versions, scen.paths, kernel) if args.source else None
        print(render_violation(violation, header=header_for(scen, kernel, versions), width=args.width,
                               sources=sources))
    else:
        print(f"mmfuzz: {scen.name} on {kernel}: the schedule breaks nothing ({len(run.trace)} steps)")
    return EXIT_FOUND if violation is not None else EXIT_CLEAN

"""`mmfuzz campaign`: the nightly run, from the command line."""

from __future__ import annotations

import os
import re

from mmfuzz.corpus.store import DEFAULT_CORPUS

import sys

from .args import (EXIT_FOUND, EXIT_INCOMPLETE, UsageError, add_races_flag, at_least_one, exit_code,
                   parse_overrides, positive)

_UNITS = {"s": 1, "m": 60, "h": 3600, "": 1}


def duration(text: str) -> float:
    """90, 90s, 2m, 1h30m -> seconds."""
    import argparse

    parts = re.findall(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip() or text.strip() == "":
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 2m, 1h30m)")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"the duration must be positive: {text!r}")
    return seconds


def jobs(text: str):
    import argparse

    if text == "auto":
        return os.cpu_count() or 1
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"--jobs takes a positive number or auto, not {text!r}")


def add_command(sub) -> None:
    p = sub.add_parser("campaign", help="fuzz every scenario x kernel until the time is up; save new races")
    p.add_argument("--time", type=duration, default=duration("10m"), metavar="DURATION",
                   help="how long to fuzz: 90s, 2m, 1h (default 10m)")
    p.add_argument("--jobs", type=jobs, default=1, metavar="N|auto", help="worker processes (default 1)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the shards on this Dask cluster instead of local workers")
    p.add_argument("--scenarios", nargs="+", metavar="NAME", help="only these scenarios")
    p.add_argument("--kernels", nargs="+", metavar="KERNEL",
                   help="only these kernels (default: each scenario's declared verdicts)")
    p.add_argument("--with", dest="overrides", action="append", metavar="PATH=VERSION",
                   help="with --kernels: run one code path in another version (repeatable)")
    p.add_argument("--out", default="campaign-report", metavar="DIR", help="where the reports go")
    p.add_argument("--corpus", default=DEFAULT_CORPUS, metavar="DIR", help="the corpus new races go to")
    p.add_argument("--profile", default="nightly", help="Hypothesis settings profile (default nightly)")
    p.add_argument("--chunk", type=at_least_one, metavar="N", help="examples per shard (default: ~5 s worth)")
    p.add_argument("--seed", type=positive, help="seed of the shard seeds, for a repeatable plan")
    p.add_argument("--database", metavar="DIR",
                   help="a Hypothesis example database shared by the workers (an accelerator only)")
    p.add_argument("--grace", type=duration, default=60.0, metavar="DURATION",
                   help="how long to wait for running shards after the time is up (default 60s)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    add_races_flag(p)
    p.set_defaults(handler=run_campaign)


def check_writable(folder, what: str) -> None:
    """Found before the night starts, not after it: create the folder, write a file in it."""
    from pathlib import Path

    from mmfuzz.corpus.store import create_temporary

    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd, tmp = create_temporary(Path(folder))
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise UsageError(f"cannot write {what} to {folder}: {e.strerror or e}") from None


def check_profile(name: str) -> None:
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    from mmfuzz.engine import profiles

    profiles.register()
    try:
        settings.get_profile(profiles.resolve(name))
    except InvalidArgument:
        raise UsageError(f"unknown settings profile {name!r}; known: "
                         f"{', '.join(profiles.NAMES)} (or ci, nightly)") from None


def run_campaign(args) -> int:
    from mmfuzz.campaign import report
    from mmfuzz.campaign.backend import DaskBackend, SerialBackend
    from mmfuzz.campaign.plan import override_notes, plan
    from mmfuzz.campaign.progress import Progress
    from mmfuzz.campaign.runner import Campaign

    overrides = parse_overrides(args.overrides)
    rows = plan(args.scenarios, args.kernels, overrides)
    if not rows:
        raise UsageError("nothing to run: no selected scenario runs on the selected kernels")
    check_profile(args.profile)
    for folder, what in ((args.out, "the report"), (args.corpus, "new races")):
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise UsageError(f"{folder} exists and is not a folder")
        check_writable(folder, what)
    progress = Progress(args.time, quiet=args.quiet)
    for note in override_notes(args.scenarios, overrides):
        progress.say(f"mmfuzz campaign: {note}")
    try:
        backend = (DaskBackend(args.jobs, args.scheduler) if args.scheduler or args.jobs > 1
                   else SerialBackend())
    except KeyboardInterrupt:
        raise
    progress.say(f"mmfuzz campaign: {len(rows)} targets for {args.time:.0f}s on {backend.describe()}; "
                 f"corpus {args.corpus}, report in {args.out}")
    try:
        summary = Campaign(rows, seconds=args.time, backend=backend, corpus=args.corpus,
                           progress=progress, profile=args.profile, chunk=args.chunk, seed=args.seed,
                           database=args.database, grace=args.grace).run()
    finally:
        backend.close()
    print(f"{summary.examples:,} examples, {summary.findings} findings: {summary.new} new, "
          f"{summary.duplicates} already in {args.corpus}"
          + (f", {summary.errors} shard errors" if summary.errors else "")
          + (f"; {summary.interrupted}" if summary.interrupted else ""))
    for c in summary.unexpected:
        print(f"FAIL {c.row.scenario} on {c.row.label}: declared clean, broke {', '.join(sorted(c.invariants))}")
    for c in summary.vacuous:
        print(f"FAIL {c.row.scenario} on {c.row.label}: {c.vacuous}")
    for entry, why in summary.unsaved:
        print(f"NOT SAVED {entry.name} ({entry.invariant} on {entry.kernel}): {why}")
    try:
        paths = report.write(summary, args.out)
        print("report: " + ", ".join(map(str, paths)))
    except OSError as e:
        print(f"mmfuzz: error: cannot write the report to {args.out}: {e.strerror or e}", file=sys.stderr)
        return EXIT_FOUND if summary.unexpected or summary.vacuous else EXIT_INCOMPLETE
    if summary.unexpected or summary.vacuous:
        return EXIT_FOUND
    if summary.interrupted == "interrupted":
        return 130
    return exit_code(False, summary.incomplete)

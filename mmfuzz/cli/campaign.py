"""`mmfuzz campaign`: the nightly run, from the command line."""

from __future__ import annotations

import os
import re

from mmfuzz.corpus.store import DEFAULT_CORPUS

from .args import EXIT_CLEAN, EXIT_FOUND, UsageError, add_races_flag, parse_overrides, positive

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
    p.add_argument("--chunk", type=positive, metavar="N", help="examples per shard (default: ~5 s worth)")
    p.add_argument("--seed", type=positive, help="seed of the shard seeds, for a repeatable plan")
    p.add_argument("--database", metavar="DIR",
                   help="a Hypothesis example database shared by the workers (an accelerator only)")
    p.add_argument("--grace", type=duration, default=60.0, metavar="DURATION",
                   help="how long to wait for running shards after the time is up (default 60s)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    add_races_flag(p)
    p.set_defaults(handler=run_campaign)


def run_campaign(args) -> int:
    from mmfuzz.campaign import report
    from mmfuzz.campaign.backend import DaskBackend, SerialBackend
    from mmfuzz.campaign.plan import plan
    from mmfuzz.campaign.progress import Progress
    from mmfuzz.campaign.runner import Campaign

    rows = plan(args.scenarios, args.kernels, parse_overrides(args.overrides))
    if not rows:
        raise UsageError("nothing to run: no selected scenario runs on the selected kernels")
    for folder in (args.out, args.corpus):
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise UsageError(f"{folder} exists and is not a folder")
    progress = Progress(args.time, quiet=args.quiet)
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
    try:
        paths = report.write(summary, args.out)
    except OSError as e:
        raise UsageError(f"cannot write the report to {args.out}: {e.strerror or e}") from None
    print(f"{summary.examples:,} examples, {summary.findings} findings: {summary.new} new, "
          f"{summary.duplicates} already in {args.corpus}"
          + (f"; {summary.interrupted}" if summary.interrupted else ""))
    for c in summary.unexpected:
        print(f"FAIL {c.row.scenario} on {c.row.label}: declared clean, broke {', '.join(sorted(c.invariants))}")
    print("report: " + ", ".join(map(str, paths)))
    if summary.unexpected:
        return EXIT_FOUND
    return 130 if summary.interrupted == "interrupted" else EXIT_CLEAN

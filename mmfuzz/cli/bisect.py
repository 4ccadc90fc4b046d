"""`mmfuzz bisect`: the first named kernel, in release order, whose verdict changes.

Between a good (clean) and a bad (racy) kernel, in either order: a fix when good is
the later release, a regression when it is the earlier. Binary search over the named
kernels that run the scenario, as `git bisect` over releases; it prints the code path
versions that changed at the kernel found. Exit 0 when the change was found, 2 when
the ends do not have the verdicts given (good racy, or bad clean), 3 when a search
could not complete.
"""

from __future__ import annotations

import json

from .args import EXIT_CLEAN, EXIT_INCOMPLETE, UsageError
from .diff import add_verdict_flags, verdict_kwargs, verdict_line


def add_command(sub) -> None:
    p = sub.add_parser("bisect", help="the first named kernel whose verdict changes between good and bad")
    p.add_argument("scenario")
    p.add_argument("--good", required=True, metavar="KERNEL", help="a kernel on which the scenario is clean")
    p.add_argument("--bad", required=True, metavar="KERNEL", help="a kernel on which it is racy")
    add_verdict_flags(p)
    p.set_defaults(handler=run_bisect)


def candidates(scenario: str, lo: str, hi: str, kw: dict) -> list[str]:
    """Named kernels from lo to hi (release order) that can run the scenario."""
    from mmfuzz.engine.scenario import get_scenario
    from mmfuzz.engine.versions import RELEASES, UnknownName, release_key, select

    paths = get_scenario(scenario, kw["options"]).paths
    out = []
    for k in sorted(RELEASES, key=release_key):
        if release_key(lo) <= release_key(k) <= release_key(hi):
            try:
                select(k, kw["overrides"], needed=paths)
            except UnknownName:
                continue
            out.append(k)
    return out


def run_bisect(args) -> int:
    from mmfuzz.api import load_races
    from mmfuzz.engine.verdict import CLEAN, INCOMPLETE, RACY, changed_paths, verdict
    from mmfuzz.engine.versions import RELEASES, UnknownName, release_key

    load_races()
    for k in (args.good, args.bad):
        if k not in RELEASES:
            raise UnknownName(f"unknown kernel {k!r}; known: {', '.join(sorted(RELEASES, key=release_key))}")
    if args.good == args.bad:
        raise UsageError("--good and --bad name the same kernel")
    kw = verdict_kwargs(args)
    fix = release_key(args.good) > release_key(args.bad)
    kernels = candidates(args.scenario, *sorted((args.good, args.bad), key=release_key), kw)
    seen = {}

    def at(k):
        if k not in seen:
            seen[k] = verdict(args.scenario, k, **kw)
            if not args.json:
                print(f"  {k:<10} {verdict_line(seen[k])}")
        return seen[k]

    if not args.json:
        print(f"mmfuzz bisect: {args.scenario}, every schedule within {args.preemptions} preemption(s)")
    for k, want in ((args.good, CLEAN), (args.bad, RACY)):
        got = at(k)
        if got.status == INCOMPLETE:
            print(f"mmfuzz: bisect incomplete: the search on {k} ran out of --max-runs")
            return EXIT_INCOMPLETE
        if got.status != want:
            raise UsageError(f"{k} was given as {'good' if want == CLEAN else 'bad'} but is {got.status}"
                             + (f" ({got.invariant})" if got.invariant else ""))
    # kernels[lo] has the earlier release's verdict, kernels[hi] the later's: find the
    # first index with the later verdict
    lo, hi = 0, len(kernels) - 1
    later = CLEAN if fix else RACY
    while hi - lo > 1:
        mid = (lo + hi) // 2
        v = at(kernels[mid])
        if v.status == INCOMPLETE:
            print(f"mmfuzz: bisect incomplete: the search on {kernels[mid]} ran out of --max-runs")
            return EXIT_INCOMPLETE
        if v.status == later:
            hi = mid
        else:
            lo = mid
    before, first = seen[kernels[lo]], seen[kernels[hi]]
    changed = changed_paths(before, first)
    if args.json:
        print(json.dumps({"scenario": args.scenario, "kind": "fix" if fix else "regression",
                          "first": first.kernel, "previous": before.kernel, "changed": changed,
                          "verdicts": [seen[k].to_json() for k in kernels if k in seen]}, indent=2))
    else:
        print(f"first {'clean' if fix else 'racy'} kernel: {first.kernel} "
              f"({'the fix' if fix else 'the regression'}; {before.kernel} before it is {before.status})")
        for p, (a, b) in changed.items():
            print(f"  {p}: {a or '-'} -> {b or '-'}")
        if not changed:
            print("  no code path of the scenario changed version there")
    return EXIT_CLEAN

"""What every command shares: exit codes, the one-line usage error, argument parsing.

Exit codes, for every command: 0 checked and clean, 1 a race, 2 bad input, 3 the check
could not be completed.
"""

from __future__ import annotations

import argparse
import json

EXIT_CLEAN, EXIT_FOUND, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3

EXIT_HELP = """exit status: (the same for every command)
  0  checked and clean
  1  a race: found, an entry still violates, or a kernel declared clean raced
  2  bad input (one line on stderr)
  3  the check could not be completed: explore stopped at --max-runs, broken or
     stale corpus entries, campaign shard errors or lost workers"""


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr and exit 2, never a usage dump; every
    command's --help ends with the exit codes."""

    def __init__(self, *args, **kw):
        kw.setdefault("epilog", EXIT_HELP)
        kw.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kw)

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


def bound(text: str) -> int | None:
    """--preemptions N or all (None: every interleaving)."""
    if text == "all":
        return None
    try:
        return positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"not a whole number or 'all': {text!r}") from None


def at_least_one(text: str) -> int:
    n = positive(text)
    if n == 0:
        raise argparse.ArgumentTypeError("must be at least 1 (0 would check nothing)")
    return n


def exit_code(found: bool, incomplete: bool) -> int:
    """A race outranks an incomplete check: it is a finding either way."""
    return EXIT_FOUND if found else EXIT_INCOMPLETE if incomplete else EXIT_CLEAN


def add_run_selection(p: argparse.ArgumentParser) -> None:
    """The flags that pick what runs: kernel, path overrides, scenario options."""
    p.add_argument("--kernel", required=True, help="named kernel, e.g. v6.12 (see `mmfuzz list`)")
    p.add_argument("--with", dest="overrides", action="append", metavar="PATH=VERSION",
                   help="run one code path in another version (repeatable)")
    p.add_argument("--fs", help="filesystem, for scenarios that take one (xfs, generic, ext4)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="any scenario option")


def scenario_options(args) -> dict[str, str]:
    opts = dict(key_value(o, "--option") for o in args.option or ())
    if args.fs:
        opts["fs"] = args.fs
    return opts


def add_races_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--races", action="append", metavar="PKG.MOD",
                   help="load a race package that is not installed (repeatable; also $MMFUZZ_RACES)")

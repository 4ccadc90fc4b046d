"""How a race is printed by every command: --width, --source, and its replay string."""

from __future__ import annotations

import argparse

DEFAULT_WIDTH = 75  # checkpatch's commit-message limit: a race pastes as it is


def width(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n != 0 and not 40 <= n <= 1000:
        raise argparse.ArgumentTypeError(f"--width takes 40 to 1000 columns, or 0 for no limit, not {n}")
    return n


def add_output_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=width, default=DEFAULT_WIDTH, metavar="COLUMNS",
                   help=f"fit the printed race in this many columns (default {DEFAULT_WIDTH}, "
                        "a commit message's; 0: no limit)")
    p.add_argument("--source", action="store_true",
                   help="name each step's kernel source file and function, with links to the release")


def race_report(result, args) -> str:
    """The printed race for `args`, then the command that replays it."""
    from mmfuzz.engine.render import render_result
    from mmfuzz.engine.replay_string import encode_result

    text = result.report
    if args.width != DEFAULT_WIDTH or args.source:
        text = render_result(result, width=args.width, source=args.source)
    code = encode_result(result)
    return text + (f"\n\nreplay: mmfuzz replay --schedule {code}" if code else "")


def add_replay_string(out: dict, result) -> dict:
    from mmfuzz.engine.replay_string import encode_result

    out["replay_string"] = encode_result(result)
    return out

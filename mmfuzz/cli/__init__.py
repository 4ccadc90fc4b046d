"""The `mmfuzz` command: one module per subcommand, shared arguments in args.py.

Subcommand modules import the engine only inside their handlers, so `mmfuzz --help`
and a bad flag cost no engine import.
"""

from __future__ import annotations

import sys

from . import bisect, campaign, diff, explore, fuzz, list as list_cmd, mutate, replay
from .args import EXIT_USAGE, Parser, UsageError

COMMANDS = (list_cmd, fuzz, explore, mutate, replay, campaign, diff, bisect)


def build_parser() -> Parser:
    parser = Parser(prog="mmfuzz", description="Find races in Linux MM code paths.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.add_command(sub)
    return parser


def main(argv=None) -> int:
    from mmfuzz import races
    from mmfuzz.engine import profiles
    from mmfuzz.engine.versions import UnknownName

    profiles.register()
    try:
        args = build_parser().parse_args(argv)
        races.add(getattr(args, "races", None) or ())
        return args.handler(args)
    except (UsageError, UnknownName) as e:
        print(f"mmfuzz: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # a path named on the command line that cannot be used
        where = f"{e.filename}: " if e.filename and len(str(e.filename)) < 200 else ""
        print(f"mmfuzz: error: {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mmfuzz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

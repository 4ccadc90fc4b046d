"""The `mmfuzz` command: one module per subcommand, shared arguments in args.py.

Subcommand modules import the engine only inside their handlers, so `mmfuzz --help`
and a bad flag cost no engine import; and a command line naming its subcommand
imports only that subcommand's module (start-up is part of every run's cost).
"""

from __future__ import annotations

import importlib
import sys

from mmfuzz import __version__

from .args import EXIT_USAGE, Parser, UsageError

# in --help's order; each is the module mmfuzz.cli.<name>
COMMANDS = ("list", "fuzz", "explore", "mutate", "replay", "campaign", "diff", "bisect", "completion")


def build_parser(only: str | None = None) -> Parser:
    """The whole parser, or with `only` that subcommand (the same options and help)."""
    parser = Parser(prog="mmfuzz", description="Find races in Linux MM code paths.")
    parser.add_argument("--version", action="version", version=f"mmfuzz {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        if only is None or name == only:
            importlib.import_module(f"{__name__}.{name}").add_command(sub)
    return parser


def named_command(argv) -> str | None:
    """The subcommand argv names, when its first word is one (top-level options take
    no value, so that word is the first not starting with '-')."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv=None) -> int:
    from mmfuzz import races
    from mmfuzz.engine import profiles
    from mmfuzz.engine.versions import UnknownName

    profiles.register()
    try:
        argv = sys.argv[1:] if argv is None else [*argv]  # (the package has a submodule named list)
        args = build_parser(named_command(argv)).parse_args(argv)
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

"""`mmfuzz completion SHELL`: the shell completion script, made from the parser (shtab).

    mmfuzz completion bash > ~/.local/share/bash-completion/completions/mmfuzz
    mmfuzz completion zsh > ~/.zfunc/_mmfuzz
"""

from __future__ import annotations

from .args import EXIT_CLEAN

SHELLS = ("bash", "zsh", "tcsh")


def add_command(sub) -> None:
    p = sub.add_parser("completion", help="print the shell completion script (bash, zsh, tcsh)")
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(handler=run_completion)


def run_completion(args) -> int:
    import shtab

    from . import build_parser

    print(shtab.complete(build_parser(), shell=args.shell))
    return EXIT_CLEAN

"""`mmfuzz fuzz --save`: a found race into the corpus."""

from __future__ import annotations

from mmfuzz.corpus.store import DEFAULT_CORPUS

from .args import parse_overrides


class SaveFailed(Exception):
    """The race was found but could not be written (printed anyway, then this, exit 2)."""


def add_save_flag(p) -> None:
    p.add_argument("--save", nargs="?", const=DEFAULT_CORPUS, metavar="DIR",
                   help=f"write the shrunk race to the corpus (default folder: {DEFAULT_CORPUS})")


def save_found(result, args) -> dict:
    """Write a found race to the corpus folder args.save: {"path", "name", "new"} or {"error"}."""
    from mmfuzz.corpus.record import NotReproducible, entry_from_result
    from mmfuzz.corpus.store import CorpusError, save

    try:
        entry = entry_from_result(result, parse_overrides(args.overrides), seed=args.seed,
                                  profile=args.profile)
    except NotReproducible as e:
        return {"error": str(e)}
    try:
        path, new = save(entry, args.save)
    except CorpusError as e:
        raise SaveFailed(str(e)) from None
    except OSError as e:
        raise SaveFailed(f"cannot write to corpus folder {args.save}: {e.strerror or e}") from None
    return {"path": str(path), "name": entry.name, "new": new}


def print_saved(saved: dict) -> None:
    if "error" in saved:
        print(f"not saved: {saved['error']}")
    elif saved["new"]:
        print(f"saved {saved['path']}")
    else:
        print(f"already in the corpus: {saved['path']}")

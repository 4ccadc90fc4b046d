"""The corpus on disk: one file per race, named after its signature.

A write goes to a hidden temporary file in the same folder and is then hard-linked to
its final name: the link is atomic and fails if the name exists, so concurrent writers
of the same race leave exactly one complete file, writers of different races never
interfere, and a reader never sees half a file. A final file that exists but does not
parse (damaged outside mmfuzz) is replaced atomically by the good one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .schema import BadEntry, Entry, loads

DEFAULT_CORPUS = os.environ.get("MMFUZZ_CORPUS", "corpus")

TMP_PREFIX = ".tmp-"


def path_for(folder, entry: Entry) -> Path:
    return Path(folder) / f"{entry.name}.json"


def save(entry: Entry, folder) -> tuple[Path, bool]:
    """Write `entry` unless its race is already there; (path, whether it was written)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = path_for(folder, entry)
    if final.exists() and _intact(final):
        return final, False
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(entry.dumps())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, final)  # atomic and exclusive: O_EXCL for a finished file
            return final, True
        except FileExistsError:
            if _intact(final):
                return final, False  # another writer won the race to this name
            os.replace(tmp, final)  # repair a damaged entry atomically
            return final, True
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _intact(path: Path) -> bool:
    try:
        load(path)
        return True
    except BadEntry:
        return False


def load(path) -> Entry:
    """The entry in `path`; BadEntry (with the file's name) for anything else."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadEntry(f"{path}: not a text file") from None
    except OSError as e:
        raise BadEntry(f"{path}: {e.strerror or e}") from None
    try:
        entry = loads(text)
    except BadEntry as e:
        raise BadEntry(f"{path}: {e}") from None
    if entry.name != path.stem:
        raise BadEntry(f"{path}: holds entry {entry.name!r}; the file name must be {entry.name}.json")
    return entry


def files(paths) -> list[Path]:
    """Entry files named by `paths` (files, or folders scanned one level, sorted).
    FileNotFoundError for a path that does not exist: that is bad input, not a bad entry."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return out


def scan(paths):
    """(path, Entry or BadEntry) for every file named by `paths`; never raises BadEntry."""
    for f in files(paths):
        try:
            yield f, load(f)
        except BadEntry as e:
            yield f, e


def signatures(folder) -> set[str]:
    """Signature ids of the intact entries in `folder` (absent folder: none)."""
    folder = Path(folder)
    if not folder.is_dir():
        return set()
    return {e.signature["id"] for _, e in scan([folder]) if isinstance(e, Entry)}

"""The corpus on disk: one file per race, named after its signature.

A write goes to a hidden temporary file in the same folder and is then hard-linked to
its final name: the link is atomic and fails if the name exists, so concurrent writers
of the same race leave exactly one complete file, writers of different races never
interfere, and a reader never sees half a file. A final file that exists but does not
parse (a newer schema, a hand edit with a typo, an unreadable file) is never replaced:
the save is refused, naming it. Files are created with the user's umask, as any file
the user writes; temporary files left by a killed writer are removed by a later save.

Reading takes regular files only, up to MAX_ENTRY_BYTES: a FIFO, a device or a huge
file named as an entry must not hang or exhaust a replay. In a folder only ``*.json``
files are entries; a directory, a dangling link or a link loop with that name is
skipped, and named.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time
from pathlib import Path

from .schema import BadEntry, Entry, check_name, loads

DEFAULT_CORPUS = os.environ.get("MMFUZZ_CORPUS", "corpus")

TMP_PREFIX = ".tmp-"
MAX_ENTRY_BYTES = 4 << 20  # entries are a few kB; a timeline of thousands of lines fits
STALE_TMP_SECONDS = 600  # a live writer holds its temporary file for milliseconds


class CorpusError(Exception):
    """The corpus cannot take this entry (an unreadable file is in the way)."""


class Skipped(BadEntry):
    """A name in a corpus folder that is not an entry file (a directory, a dangling link)."""


def path_for(folder, entry: Entry) -> Path:
    check_name(entry.name, entry.scenario, entry.signature.get("id"))  # never ../ESCAPED
    return Path(folder) / f"{entry.name}.json"


def create_temporary(folder: Path) -> tuple[int, Path]:
    """An exclusive new hidden file in `folder`, mode 0666 less the umask (not *.json:
    nothing that looks for entries ever takes half of one)."""
    while True:
        tmp = folder / f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def remove_stray_temporaries(folder: Path, older_than: float = STALE_TMP_SECONDS) -> list[Path]:
    """Temporary files of writers killed mid-write (kill -9, a full disk)."""
    removed, cutoff = [], time.time() - older_than
    for f in folder.glob(TMP_PREFIX + "*"):
        try:
            if f.lstat().st_mtime < cutoff:
                f.unlink()
                removed.append(f)
        except OSError:
            pass  # gone already, or not ours to remove
    return removed


def save(entry: Entry, folder) -> tuple[Path, bool]:
    """Write `entry` unless its race is already there; (path, whether it was written).
    CorpusError if a file that is not a readable entry holds its name."""
    folder = Path(folder)
    final = path_for(folder, entry)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stray_temporaries(folder)
    if os.path.lexists(final):
        _check_intact(final)
        return final, False
    fd, tmp = create_temporary(folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(entry.dumps())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, final)  # atomic and exclusive: O_EXCL for a finished file
            return final, True
        except FileExistsError:
            _check_intact(final)
            return final, False  # another writer won the race to this name
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _check_intact(path: Path) -> None:
    try:
        load(path)
    except BadEntry as e:
        why = str(e).removeprefix(f"{path}: ")
        raise CorpusError(f"not replacing {path}: it is not an entry this mmfuzz can read ({why}); "
                          f"move it away or fix it") from None


def _read(path: Path, in_folder: bool) -> str:
    """The text of a regular file, at most MAX_ENTRY_BYTES; Skipped/BadEntry otherwise."""
    bad = Skipped if in_folder else BadEntry
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        if os.path.islink(path):
            why = "a symbolic link loop" if e.errno == errno.ELOOP else "a dangling symbolic link"
            raise bad(f"{path}: skipped: {why}") from None
        raise BadEntry(f"{path}: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise bad(f"{path}: skipped: a directory")
        if not stat.S_ISREG(st.st_mode):
            raise bad(f"{path}: skipped: not a regular file")
        if st.st_size > MAX_ENTRY_BYTES:
            raise BadEntry(f"{path}: {st.st_size:,} bytes, larger than an entry can be "
                           f"({MAX_ENTRY_BYTES:,})")
        data = os.read(fd, MAX_ENTRY_BYTES + 1)
    except OSError as e:
        raise BadEntry(f"{path}: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_ENTRY_BYTES:
        raise BadEntry(f"{path}: larger than an entry can be ({MAX_ENTRY_BYTES:,} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadEntry(f"{path}: not a text file") from None


def load(path, in_folder: bool = False) -> Entry:
    """The entry in `path`; BadEntry (with the file's name) for anything else."""
    path = Path(path)
    text = _read(path, in_folder)
    try:
        entry = loads(text)
    except BadEntry as e:
        raise BadEntry(f"{path}: {e}") from None
    if entry.name != path.stem:
        raise BadEntry(f"{path}: holds entry {entry.name!r}; the file name must be {entry.name}.json")
    return entry


def files(paths) -> list[tuple[Path, bool]]:
    """(file, found in a folder) for the entries named by `paths`: files, or folders
    scanned one level for ``*.json``, sorted. FileNotFoundError for a path that does not
    exist: that is bad input, not a bad entry."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted((f, True) for f in p.iterdir()
                          if f.name.endswith(".json") and not f.name.startswith("."))
        elif os.path.lexists(p):
            out.append((p, False))
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return out


def scan(paths):
    """(path, Entry or BadEntry) for every file named by `paths`; never raises BadEntry.
    A Skipped (a BadEntry) is a name in a folder that is not an entry file at all."""
    for f, in_folder in files(paths):
        try:
            yield f, load(f, in_folder)
        except BadEntry as e:
            yield f, e


def signatures(folder) -> set[str]:
    """Signature ids of the intact entries in `folder` (absent folder: none)."""
    folder = Path(folder)
    if not folder.is_dir():
        return set()
    return {e.signature["id"] for _, e in scan([folder]) if isinstance(e, Entry)}

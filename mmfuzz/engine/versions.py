"""Code paths, their versions, and named kernels: all data.

A *code path* (``walk_page_range``, ``do_no_page``...) has *versions*: one class per
version, whose methods are the kernel functions as that version has them. A version
either names the first release that carries it (``since``) or is an alternative that
never landed (an RFC, a question from the thread): then only ``--with`` selects it.

A *named kernel* selects, for every path, the version with the latest ``since`` at or
before it. The kernel a run executes is one class composed of the selected versions,
so code calls across paths as the kernel does: ``yield from self.split_huge_pud(...)``.
"""

from __future__ import annotations

import re

import attrs

from .task import inherit_marks, kernel_name


class UnknownName(ValueError):
    """Bad input from the user: an unknown scenario, kernel, path or version."""


_REL = re.compile(r"^v(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+))?$")


def release_key(name: str) -> tuple:
    """Order kernel release names: v2.6.20 < v6.12 < v7.0-rc2 < v7.0 < v7.1-rc1."""
    m = _REL.match(name)
    if not m:
        raise UnknownName(f"not a kernel release name: {name!r} (expected e.g. v6.12 or v7.0-rc2)")
    major, minor, sub, rc = m.groups()
    # an -rcN comes before the release itself
    return (int(major), int(minor), int(sub or 0), int(rc) if rc else 10**6)


@attrs.frozen
class Version:
    path: str
    name: str
    cls: type
    models: str  # what it models: release, commit, patch posting
    since: str | None  # first release carrying it; None for alternatives
    commit: str | None
    racy: str | None  # what the model shows, for `mmfuzz list`; informative only
    retired: bool = False  # a tombstone: from `since` on, kernels do not have this path
    # a protection mutant: a version with one protection removed, for `mmfuzz mutate`
    # (never a kernel's); it mutates the versions named in `mutates`
    mutant: bool = False
    mutates: tuple = ()

    @property
    def doc(self) -> str:
        return (self.cls.__doc__ or "").strip().splitlines()[0] if self.cls.__doc__ else ""


@attrs.define
class CodePath:
    name: str
    file: str
    doc: str
    versions: dict = attrs.Factory(dict)

    def version(self, name, *, models, since=None, commit=None, racy=None, mutant=False, mutates=()):
        """Class decorator registering one version of this path.

        A mutant (mutant=True, or a docstring or `models` starting "Mutant:") is the
        version it subclasses with one protection removed; `mutates` names the versions
        it applies to (default: that base version).
        """

        def register(cls):
            if name in self.versions:
                raise ValueError(f"{self.name}: version {name} registered twice")
            is_mutant = mutant or models.startswith("Mutant:") or (cls.__doc__ or "").lstrip().startswith("Mutant:")
            if is_mutant and since is not None:
                raise ValueError(f"{self.name}: mutant {name} cannot be in a kernel (since={since})")
            bases = tuple(mutates) or next(
                ((vars(b)["__mmfuzz_version__"][1],) for b in cls.__mro__[1:]
                 if vars(b).get("__mmfuzz_version__", ("",))[0] == self.name), ())
            if is_mutant and not bases:
                raise ValueError(f"{self.name}: mutant {name} must subclass the version it mutates, or name it in mutates=")
            self.versions[name] = Version(self.name, name, cls, models, since, commit, racy,
                                          mutant=is_mutant, mutates=bases if is_mutant else ())
            cls.__mmfuzz_version__ = (self.name, name)
            inherit_marks(cls)
            return cls

        return register

    def retire(self, since: str, why: str) -> None:
        """From `since` on the kernel no longer has this path (or the model stops there)."""
        class Retired:
            pass
        Retired.__doc__ = f"Not in kernels from {since} on: {why}"
        self.versions["retired"] = Version(self.name, "retired", Retired, f"gone: {why}",
                                           since, None, None, retired=True)

    def for_release(self, release: str) -> Version | None:
        key = release_key(release)
        best = None
        for v in self.versions.values():
            if v.since is None or release_key(v.since) > key:
                continue
            if best is None or release_key(v.since) > release_key(best.since):
                best = v
        return best


@attrs.frozen
class Release:
    name: str
    note: str


PATHS: dict[str, CodePath] = {}
RELEASES: dict[str, Release] = {}


def code_path(name: str, *, file: str, doc: str) -> CodePath:
    if name in PATHS:
        raise ValueError(f"code path {name} declared twice")
    PATHS[name] = path = CodePath(name, file, doc)
    return path


def release(name: str, note: str) -> Release:
    release_key(name)
    RELEASES[name] = rel = Release(name, note)
    return rel


def select(kernel: str, overrides: dict[str, str] | None = None, needed=None) -> dict[str, Version]:
    """The versions a run uses: the named kernel's, then each override."""
    if kernel not in RELEASES:
        raise UnknownName(f"unknown kernel {kernel!r}; known: {', '.join(sorted(RELEASES, key=release_key))}")
    chosen: dict[str, Version] = {}
    for path in PATHS.values():
        v = path.for_release(kernel)
        if v is not None and not v.retired:
            chosen[path.name] = v
    for pname, vname in (overrides or {}).items():
        if pname not in PATHS:
            raise UnknownName(f"unknown code path {pname!r}; known: {', '.join(sorted(PATHS))}")
        versions = {n: v for n, v in PATHS[pname].versions.items() if not v.retired}
        if vname not in versions:
            raise UnknownName(f"{pname} has no version {vname!r}; it has: {', '.join(versions)}")
        chosen[pname] = versions[vname]
    for pname in needed or ():
        if pname not in chosen:
            last = PATHS[pname].for_release(kernel) if pname in PATHS else None
            why = f"{last.models}" if last is not None else "the kernel predates it"
            raise UnknownName(f"kernel {kernel} has no {pname} ({why}); pick a version with --with {pname}=VERSION")
    return chosen


class MissingCodePath(AttributeError):
    """Kernel code called a function that none of the composed code paths defines."""


def _definers(attr: str) -> list[str]:
    return sorted({f"{p.name} ({v.name})" for p in PATHS.values() for v in p.versions.values()
                   if attr in vars(v.cls)})


def compose(chosen: dict[str, Version]) -> type:
    """One class whose methods are the selected versions' functions.

    Only the paths a scenario declares are composed, so a version added for one race
    never changes another's kernel. A call to a function none of them defines fails
    naming the code paths that do define it: the scenario's `paths` lacks one.
    """
    owner: dict[str, str] = {}
    for name, v in sorted(chosen.items()):
        for attr in vars(v.cls):
            if attr.startswith("__"):
                continue
            if attr in owner and owner[attr] != name:
                raise TypeError(f"{attr} is defined by both {owner[attr]} and {name}")
            owner[attr] = name
    paths = sorted(chosen)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        where = _definers(attr)
        raise MissingCodePath(
            f"kernel function {attr}() is called, but none of the composed code paths "
            f"({', '.join(paths)}) defines it"
            + (f"; it is defined by {', '.join(where)}: add that path to the scenario's paths"
               if where else ""))

    return type("Kernel", tuple(chosen[n].cls for n in paths), {"__getattr__": __getattr__})


ELIXIR = "https://elixir.bootlin.com/linux/{tag}/source/{file}"


def source_links(chosen: dict[str, Version], paths, kernel: str) -> dict[str, tuple[str, str]]:
    """kernel function -> ("mm/pagewalk.c:walk_pud_range()", link to the file in the
    release run: the version selected is the code that release has; for an
    alternative (an RFC) the release it applies to)."""
    out: dict[str, tuple[str, str]] = {}
    for pname in paths:
        v = chosen.get(pname)
        if v is None:
            continue
        tag = kernel
        file = PATHS[pname].file
        for cls in v.cls.__mro__:
            if not getattr(cls, "__mmfuzz_version__", None):
                continue  # KernelCode and object: not a version's own functions
            for attr, fn in vars(cls).items():
                if callable(fn) and not attr.startswith("__"):
                    out.setdefault(kernel_name(attr), (f"{file}:{kernel_name(attr)}()",
                                                       ELIXIR.format(tag=tag, file=file)))
    return out

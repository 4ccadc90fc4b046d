"""Lock elision: run the code as if one acquisition site did not take its lock.

A *site* is where code takes a lock: ``(kernel function, step)``, the step being the
acquisition's label with the lock's name replaced by its *kind* (``spin_lock(ptl:0x12)``
in ``zap_pte_range`` is the site ``("zap_pte_range", "spin_lock(ptl)")``), so a site
names the same line of code in every run whatever the pfns and processes. A lock taken
inside a kernel lock helper (``xfs_ilock``, ``pte_offset_map_lock``: see
``lock_helper``) is sited at the helper's caller, step ``"helper: label"``: the
protection is the call, not the helper's body.

An elided acquisition succeeds at once (a trylock returns true), takes nothing, and the
task's matching release is a no-op; every other acquisition of the same lock is real.
The lock table remembers elided holds as plain data (``LockTable.elided``), so state
keys tell them apart.

A run that records its sites (``SiteLog``) also records which sites' holds made a
difference: a lock query (can a task take it, is it locked) whose answer would change
without the holds taken at a site, a pending acquisition at a site that had to wait, a
trylock at a site that failed. A mutant eliding a site no schedule's run made a
difference for runs each schedule exactly as the unmutated kernel does; the search
(engine/mutate.py) need not run those again.
"""

from __future__ import annotations

import sys
import types

import attrs

from .locks import SHARED, LockTable
from .task import _PRIMITIVE_CODES, kernel_name

_CO_GENERATOR = 0x20
MUTANT_NOTE = "mutant: elided, the lock is not taken"
_LOCK_HELPERS: set[str] = set()


def lock_helper(*names: str) -> None:
    """Kernel functions that take a lock for their caller: their sites are the callers'."""
    _LOCK_HELPERS.update(names)


def lock_kind(lock: str) -> str:
    """The lock's name without its instance: page:0x12 -> page, fault.mmap_lock -> mmap_lock."""
    return lock.split(":", 1)[0].rsplit(".", 1)[-1]


def site_name(site: tuple[str, str]) -> str:
    function, step = site
    return f"{step} in {function}"


def _site(codes, label: str) -> tuple[str, str]:
    """The site of an acquisition labelled `label`, reached through these code objects
    (outermost first): the innermost kernel function, through any lock helper."""
    function, helper = "?", None
    for code in codes:
        if code in _PRIMITIVE_CODES:
            continue
        name = kernel_name(code.co_name)
        if name in _LOCK_HELPERS:
            helper = helper or name
        else:
            function, helper = name, None
    return function, f"{helper}: {label}" if helper else label


def acquire_site(gen, pending) -> tuple[str, str]:
    """The site of the Acquire step a suspended task is pending on."""
    codes = []
    while gen is not None and hasattr(gen, "gi_code"):
        codes.append(gen.gi_code)
        gen = gen.gi_yieldfrom
    return _site(codes, pending.label.replace(pending.lock, lock_kind(pending.lock)))


def _call_site(lock: str, depth: int, how: str) -> tuple[str, str]:
    """The site of a lock taken without a step (a trylock, a new page's lock), from the
    running frames: the function that called the lock table names the step."""
    caller = sys._getframe(depth)
    f: types.FrameType | None = caller
    while f is not None and not f.f_code.co_flags & _CO_GENERATOR:  # plain helpers
        f = f.f_back
    frames = []
    while f is not None and f.f_code.co_flags & _CO_GENERATOR:  # the task's yield-from chain
        frames.append(f.f_code)
        f = f.f_back
    frames.reverse()
    if not (caller.f_code.co_flags & _CO_GENERATOR and caller.f_code not in _PRIMITIVE_CODES):
        how = kernel_name(caller.f_code.co_name)  # the helper called: trylock_page(page)
    # else the kernel function calls the table itself (a new page's PG_locked): how says what
    return _site(frames, f"{how}({lock_kind(lock)})")


@attrs.define
class SiteLog:
    """What one run learnt about acquisition sites."""

    reached: set = attrs.Factory(set)
    diverged: set = attrs.Factory(set)  # sites whose elision would change this run


class WatchedLocks(LockTable):
    """The lock table of a recording run: the site of every hold, and each query whose
    answer the holds of one site decide (that site's mutant would diverge there)."""

    def __init__(self, table: LockTable, log: SiteLog):
        super().__init__(dict(table.held), dict(table.elided))
        self.log = log
        self.via: dict = {}  # (lock, tid) -> sites of that task's holds, in acquisition order

    def took(self, site, lock: str, tid: int) -> None:
        self.via.setdefault((lock, tid), []).append(site)

    def release(self, lock: str, tid: int) -> None:
        super().release(lock, tid)
        sites = self.via.get((lock, tid))
        if sites:
            sites.pop()

    def _decided_by(self, lock: str, answer, query) -> None:
        cur = self.held.get(lock)
        if cur is None:
            return
        mode, holders = cur
        site_of = {h: self.via[(lock, h)][-1] for h in holders if self.via.get((lock, h))}
        for site in set(site_of.values()):
            if query(mode, tuple(h for h in holders if site_of.get(h) != site)) != answer:
                self.log.diverged.add(site)

    def can_acquire(self, lock: str, mode: str) -> bool:
        answer = super().can_acquire(lock, mode)
        self._decided_by(lock, answer, lambda held_mode, rest: not rest or (mode == SHARED and held_mode == SHARED))
        return answer

    def is_locked(self, lock: str) -> bool:
        answer = super().is_locked(lock)
        self._decided_by(lock, answer, lambda held_mode, rest: bool(rest))
        return answer

    def holds(self, lock: str, tid: int) -> bool:
        answer = super().holds(lock, tid)
        self._decided_by(lock, answer, lambda held_mode, rest: tid in rest)
        return answer


class ElidingLocks:
    """A task's `t.locks` in a run that elides (or records) acquisition sites."""

    __slots__ = ("table", "run", "task")

    def __init__(self, table, run, task):
        self.table, self.run, self.task = table, run, task

    def __getattr__(self, name):
        return getattr(self.table, name)

    def _site(self, lock: str, how: str):
        """The acquisition's site, or None if this run elides it (then it is done)."""
        site = _call_site(lock, 3, how)
        self.run.reached(site)
        if site not in self.run.elide:
            return site
        self.table.elide(lock, self.task.id)
        self.task.note(MUTANT_NOTE)
        return None

    def try_acquire(self, lock: str, mode: str, tid: int) -> bool:
        site = self._site(lock, "trylock")
        if site is None:
            return True
        if not self.table.try_acquire(lock, mode, tid):
            self.run.diverged(site)  # the mutant's trylock succeeds
            return False
        self.run.took(site, lock, tid)
        return True

    def acquire(self, lock: str, mode: str, tid: int) -> None:
        site = self._site(lock, "acquire")
        if site is not None:
            self.table.acquire(lock, mode, tid)
            self.run.took(site, lock, tid)

    def release(self, lock: str, tid: int) -> None:
        if not self.table.release_elided(lock, tid):
            self.table.release(lock, tid)

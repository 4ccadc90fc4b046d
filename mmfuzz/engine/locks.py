"""Lock state as plain data: which task holds which lock, in which mode.

Spinlocks, mutexes and the page lock are exclusive; rw semaphores add a shared mode.
Locks are named by strings (``"mmap_lock"``, ``"ptl:12"``, ``"page:7"``) so the whole
table is hashable and cheap to copy.
"""

from __future__ import annotations

import attrs

from . import footprint
from .footprint import QUERY, REL_EXCL, REL_SHARED, TRY
from .statekey import register
from .task import EXCL, SHARED


@attrs.define
class LockTable:
    # lock name -> (mode, tuple of holder task ids)
    held: dict = attrs.Factory(dict)
    # lock name -> tuple of task ids that passed an elided acquisition of it (mutants)
    elided: dict = attrs.Factory(dict)

    # Each operation tells the step's recorder (footprint.py) what it did to which lock;
    # the engine records a step's blocking acquisition itself.
    def can_acquire(self, lock: str, mode: str) -> bool:
        rec = footprint.active()
        if rec is not None:
            rec.lock(lock, QUERY)
        cur = self.held.get(lock)
        if cur is None:
            return True
        return mode == SHARED and cur[0] == SHARED

    def acquire(self, lock: str, mode: str, tid: int) -> None:
        rec = footprint.active()
        if rec is not None:
            rec.lock(lock, TRY)  # taken inside a step, without waiting (a new page's lock)
        cur = self.held.get(lock)
        if cur is None:
            self.held[lock] = (mode, (tid,))
        elif mode == SHARED and cur[0] == SHARED:
            self.held[lock] = (SHARED, cur[1] + (tid,))
        else:
            raise AssertionError(f"{lock} is not free for task {tid}")

    def try_acquire(self, lock: str, mode: str, tid: int) -> bool:
        rec = footprint.active()
        if rec is not None:
            rec.lock(lock, TRY)
        if not self.can_acquire(lock, mode):
            return False
        self.acquire(lock, mode, tid)
        return True

    def release(self, lock: str, tid: int) -> None:
        mode, holders = self.held[lock]
        rec = footprint.active()
        if rec is not None:
            rec.lock(lock, REL_SHARED if mode == SHARED else REL_EXCL)
        if tid not in holders:
            raise AssertionError(f"task {tid} releases {lock} it does not hold")
        rest = tuple(h for h in holders if h != tid)
        if rest:
            self.held[lock] = (mode, rest)
        else:
            del self.held[lock]

    def elide(self, lock: str, tid: int) -> None:
        self.elided[lock] = self.elided.get(lock, ()) + (tid,)

    def release_elided(self, lock: str, tid: int) -> bool:
        """Release an elided hold of `lock` by `tid`, if it has one: a no-op on the lock."""
        tids = self.elided.get(lock)
        if not tids or tid not in tids:
            return False
        i = tids.index(tid)
        rest = tids[:i] + tids[i + 1:]
        if rest:
            self.elided[lock] = rest
        else:
            del self.elided[lock]
        return True

    def is_locked(self, lock: str) -> bool:
        rec = footprint.active()
        if rec is not None:
            rec.lock(lock, QUERY)
        return lock in self.held

    def holds(self, lock: str, tid: int) -> bool:
        rec = footprint.active()
        if rec is not None:
            rec.lock(lock, QUERY)
        cur = self.held.get(lock)
        return cur is not None and tid in cur[1]

    def held_by(self, tid: int) -> list[tuple[str, str]]:
        rec = footprint.active()
        if rec is not None:
            for name in self.held:
                rec.lock(name, QUERY)
        return sorted((name, mode) for name, (mode, holders) in self.held.items() if tid in holders)


def _state_of(table: LockTable, tid) -> tuple:
    """The table as a state key holds it: which locks are held (elided), by whom, in which
    mode; not the order the locks were taken in nor the order of a lock's holders, which
    no query reads (held_by() sorts, release() removes by id)."""
    return (tuple(sorted((lock, mode, tuple(sorted(map(tid, holders)))) for lock, (mode, holders) in table.held.items())),
            tuple(sorted((lock, tuple(sorted(map(tid, tids)))) for lock, tids in table.elided.items())))


register(LockTable, _state_of)
footprint.untracked(LockTable)

__all__ = ["LockTable", "EXCL", "SHARED"]

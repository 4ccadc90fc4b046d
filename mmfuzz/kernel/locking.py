"""Kernel locking primitives as steps: taking a lock is a point where the task may block."""

from __future__ import annotations

from mmfuzz.engine.elide import lock_helper
from mmfuzz.engine.task import EXCL, SHARED, Acquire, WaitFor, primitive

# The kernel's helpers that take a lock for their caller (fs/xfs/xfs_inode.c, include/linux/mm.h,
# include/linux/huge_mm.h): a protection mutant elides the lock where the caller calls them.
lock_helper("xfs_ilock", "pte_offset_map_lock", "pmd_trans_huge_lock")


@primitive
def spin_lock(t, lock: str):
    yield Acquire(lock, EXCL, f"spin_lock({lock})")


def spin_unlock(t, lock: str) -> None:
    t.locks.release(lock, t.id)


@primitive
def down_read(t, sem: str):
    yield Acquire(sem, SHARED, f"down_read({sem})")


@primitive
def down_write(t, sem: str):
    yield Acquire(sem, EXCL, f"down_write({sem})")


def up_read(t, sem: str) -> None:
    t.locks.release(sem, t.id)


up_write = up_read


def down_read_trylock(t, sem: str) -> bool:
    return t.locks.try_acquire(sem, SHARED, t.id)


@primitive
def mutex_lock(t, lock: str):
    yield Acquire(lock, EXCL, f"mutex_lock({lock})")


mutex_unlock = spin_unlock


def page_lock_name(pfn: int) -> str:
    return f"page:{pfn:#x}"


@primitive
def lock_page(t, pfn: int):
    """Sleeps until PG_locked is clear, then sets it."""
    yield Acquire(page_lock_name(pfn), EXCL, "lock_page")


def trylock_page(t, pfn: int) -> bool:
    return t.locks.try_acquire(page_lock_name(pfn), EXCL, t.id)


def unlock_page(t, pfn: int) -> None:
    t.locks.release(page_lock_name(pfn), t.id)


def PageLocked(state, pfn: int) -> bool:
    return state.locks.is_locked(page_lock_name(pfn))


@primitive
def wait_on_page_locked(t, pfn: int):
    name = page_lock_name(pfn)
    yield WaitFor(lambda s: not s.locks.is_locked(name), f"PG_locked clear on {pfn:#x}", "wait_on_page_locked")


__all__ = [n for n in dir() if not n.startswith("_")]

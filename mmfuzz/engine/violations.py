"""What can go wrong in a run, in kernel terms.

Kernel code raises ``Oops`` (an illegal access: the CPU would fault) or ``Bug``
(a ``BUG_ON``/``VM_BUG_ON`` firing). The task dies there and keeps its locks, as a
crashed kernel thread does. Invariants raise ``InvariantBroken``. The engine turns
each into a ``Violation`` carrying the run that produced it.
"""

from __future__ import annotations


class KernelCrash(Exception):
    """Raised by kernel code: the task stops here, holding its locks."""

    invariant = "kernel-crash"

    def __init__(self, message: str, invariant: str | None = None):
        super().__init__(message)
        if invariant:
            self.invariant = invariant


class Oops(KernelCrash):
    invariant = "no-illegal-read"


class Bug(KernelCrash):
    invariant = "no-BUG_ON"


class InvariantBroken(Exception):
    def __init__(self, invariant: str, message: str):
        super().__init__(message)
        self.invariant = invariant


class Violation(Exception):
    """A broken invariant, with the run (schedule, trace, state) that broke it."""

    def __init__(self, invariant: str, message: str, run=None, culprit: int | None = None):
        super().__init__(f"{invariant}: {message}")
        self.invariant = invariant
        self.message = message
        self.run = run
        self.culprit = culprit

"""What a kernel code path yields, and the task (CPU) that runs it.

A code path is a generator. Each ``yield`` announces the next atomic step and is a
point where another CPU may run first:

- ``yield "R(*pud)"``: a plain step with that label; the code up to the next yield
  is the step's body and runs atomically.
- ``yield Acquire(lock, mode)``: the task can run only once it can take ``lock``;
  running it takes the lock, then runs the body.
- ``yield WaitFor(cond, what)``: the task can run only once ``cond(state)`` is true
  (``wait_on_page_locked``, ``wait_on_page_writeback``...).

Code before an actor's first yield runs at spawn, before any scheduling: it must not
touch shared state.
"""

from __future__ import annotations

from typing import Any

import attrs

EXCL = "excl"
SHARED = "shared"

# Generator code objects of locking/helper primitives. A step's function name is the
# innermost kernel function on the yield-from chain that is not one of these.
_PRIMITIVE_CODES: set = set()


def primitive(fn):
    """Mark a helper generator so steps it yields are named after its caller."""
    _PRIMITIVE_CODES.add(fn.__code__)
    return fn


# A block of a kernel function split out so that a version can override just that
# block: its steps are named after the kernel function it belongs to.
inline = primitive


def inherit_marks(cls) -> None:
    """An override of a @primitive or @inline method is one too (versions.py calls this
    for every version class): a version that overrides just the block must not rename
    its steps after the block, nor need to repeat the decorator."""
    marked: set[str] = set()
    for klass in reversed(cls.__mro__):
        for name, attr in vars(klass).items():
            code = getattr(getattr(attr, "__func__", attr), "__code__", None)
            if code is None:
                continue
            if code in _PRIMITIVE_CODES:
                marked.add(name)
            elif name in marked:
                _PRIMITIVE_CODES.add(code)


class Acquire:
    __slots__ = ("lock", "mode", "label")

    def __init__(self, lock: str, mode: str = EXCL, label: str | None = None):
        self.lock = lock
        self.mode = mode
        self.label = label or f"lock {lock}"


class WaitFor:
    __slots__ = ("cond", "what", "label")

    def __init__(self, cond, what: str, label: str | None = None):
        self.cond = cond
        self.what = what
        self.label = label or f"wait for {what}"


def step_label(pending) -> str:
    return pending if type(pending) is str else pending.label


def kernel_name(co_name: str) -> str:
    # Python mangles a leading "__" inside classes: the kernel's __foo is written _foo
    if co_name.startswith("_") and not co_name.startswith("__"):
        return "_" + co_name
    return co_name


def innermost_function(gen) -> str:
    """Name of the kernel function the generator chain is suspended in."""
    name = gen.gi_code.co_name
    while True:
        sub = gen.gi_yieldfrom
        if sub is None or not hasattr(sub, "gi_code"):
            return kernel_name(name)
        gen = sub
        if gen.gi_code not in _PRIMITIVE_CODES:
            name = gen.gi_code.co_name


class FunctionCache:
    """innermost_function() of one task's generator, walked again only when the chain
    changed: a generator delegating with ``yield from`` cannot resume before its
    subgenerator ends, so while the innermost generator last found is still suspended
    at a plain yield and its parent still delegates to it, every frame above is where
    it was and the name is the same (the walk was a tenth of a step's cost)."""

    __slots__ = ("leaf", "parent", "name")

    def __init__(self):
        self.leaf = self.parent = None
        self.name = ""

    def of(self, gen) -> str:
        leaf = self.leaf
        if (leaf is not None and leaf.gi_yieldfrom is None and leaf.gi_frame is not None
                and (self.parent is None or self.parent.gi_yieldfrom is leaf)):
            return self.name
        parent = None
        name = gen.gi_code.co_name
        while True:
            sub = gen.gi_yieldfrom
            if sub is None or not hasattr(sub, "gi_code"):
                break
            gen, parent = sub, gen
            if gen.gi_code not in _PRIMITIVE_CODES:
                name = gen.gi_code.co_name
        self.leaf, self.parent, self.name = gen, parent, kernel_name(name)
        return self.name


@attrs.define(eq=False)
class Task:
    """One CPU running one actor's code path."""

    id: int
    kind: str
    title: str
    gen: Any = None  # the actor's generator; None until the run spawns it
    locks: Any = None  # the run's LockTable, for unlock/trylock without a step
    pending: Any = None  # what the next step is: a label, an Acquire or a WaitFor
    done: bool = False
    crashed: bool = False
    result: object = None
    steps: int = 0
    notes: list = attrs.Factory(list)
    elided_site: tuple | None = None  # the pending Acquire's site, when a mutant elides it
    # Scratch space the actor's code may use to report what it saw (for invariants).
    seen: dict = attrs.Factory(dict)

    @property
    def alive(self) -> bool:
        return not (self.done or self.crashed)

    def note(self, text: str) -> None:
        """Say what the current step saw or did; shown in the timeline."""
        self.notes.append(text)

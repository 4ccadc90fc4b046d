"""What one step reads and writes: its footprint, for the partial-order reduction.

Two steps of different tasks are *dependent* if one writes a cell the other reads or
writes, or they take the same lock in conflicting ways; independent steps give the
same state in either order. The search of every interleaving reorders only dependent
steps (por.py).

A cell is named by where it is in the state, not by a Python id, so that its name is
the same in every run that reaches the same state (the search replays runs): the
chain of fields and keys from the state's root (``("S", "mem", "frames", 0x12)``)
names an object; ``(its path, field)`` is a field of a model object, ``(a container's
path, key)`` one slot of a container, ``(path, ALL)`` all of it (iterating, its
length); ``("task", id, "seen")`` and ``("task", id, "result")`` are what a task
reports; a lock is its name.

What records, while a Recorder is active on this thread:

- a field of an attrs object of the state, read or set, through a descriptor that
  replaces the class's slot (installed while a reducing search runs: ``tracking()``);
- the state's dicts, lists and sets are made ``TDict``, ``TList`` and ``TSet`` when a
  recording run starts (before any code holds them), and report each key read or
  written; a container made later (a new page table's entries) is one cell, its
  contents snapshotted when a step reaches it (through a field, a tracked slot, or a
  live local of the running task) and compared when the step ends;
- the lock table reports each operation (locks.py).

An object the recorder cannot name is private to a task: new in this step, or held
only in its locals (a page table allocated and not yet installed). Shared data must
be in the state or in what tasks report (``t.seen``), as the state key assumes too.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import types

import attrs

_local = threading.local()
_depth = 0  # how many reducing searches are recording (tracking()): 0 for every other run


def active():
    """The recorder of this thread's step, or None (at once, when no search records)."""
    if not _depth:
        return None
    return getattr(_local, "rec", None)


# pseudo-keys (never real ones: the state's keys are ints and strings): a container's
# whole contents (read by iterating it, written by sorting it), and its shape (its
# length and iteration order: written by a new key or a removed one, and only
# iterating reads it)
ALL = ("*",)
SHAPE = ("#",)

# lock operations, and the pairs of them on one lock that commute / are never enabled
# together (a blocking acquisition needs the lock that the releaser holds)
ACQ_EXCL, ACQ_SHARED, TRY, REL_EXCL, REL_SHARED, QUERY = "AX", "AS", "T", "RX", "RS", "Q"
_INDEPENDENT = {frozenset(p) for p in ((ACQ_SHARED,), (ACQ_SHARED, REL_SHARED), (REL_SHARED,), (QUERY,),
                                       (REL_EXCL,), (REL_EXCL, REL_SHARED))}
_NOT_COENABLED = {frozenset(p) for p in ((ACQ_EXCL, REL_EXCL), (ACQ_EXCL, REL_SHARED), (ACQ_SHARED, REL_EXCL))}

_UNTRACKED: set[type] = set()  # classes that record themselves (the lock table)
_INSTALLED: dict[type, dict] = {}  # class -> {field: its original slot descriptor}
_TASK_FIELDS = ("seen", "result")
_SCALARS = (int, str, bool, float, type(None), bytes)


def untracked(cls: type) -> None:
    """Instances of `cls` (and of its subclasses) report their own operations: no field
    hooks on them, and what they hold is not named."""
    _UNTRACKED.add(cls)


def _is_untracked(cls: type) -> bool:
    return any(base in _UNTRACKED for base in cls.__mro__)


def _frozen(cls) -> bool:
    """An attrs class whose instances cannot change: a value."""
    return getattr(cls.__setattr__, "__name__", "") == "_frozen_setattrs"


# -- fields ------------------------------------------------------------------------------
class _Field:
    """A slot that reports reads and writes to the active recorder."""

    __slots__ = ("slot", "name")

    def __init__(self, slot, name):
        self.slot, self.name = slot, name

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        value = self.slot.__get__(obj, cls)
        rec = getattr(_local, "rec", None)
        if rec is not None:
            rec.field(obj, self.name, value, False)
        return value

    def __set__(self, obj, value):
        rec = getattr(_local, "rec", None)
        if rec is not None:
            rec.field(obj, self.name, value, True)
        self.slot.__set__(obj, value)

    def __delete__(self, obj):
        self.slot.__delete__(obj)


_guard = threading.Lock()


def _hook(cls: type, names) -> bool:
    """Replace the slots `names` of `cls` by reporting ones; False if one is no slot."""
    saved: dict = {}
    for name in names:
        slot = cls.__dict__.get(name)
        if type(slot) is not types.MemberDescriptorType:
            for n, s in saved.items():
                setattr(cls, n, s)
            return False
        saved[name] = slot
        setattr(cls, name, _Field(slot, name))
    _INSTALLED[cls] = saved
    return True


def _install(cls: type) -> bool:
    """Hook the fields of an attrs class of the state; False if they cannot be hooked."""
    with _guard:
        return cls in _INSTALLED or _hook(cls, [f.name for f in attrs.fields(cls)])


@contextlib.contextmanager
def tracking(task_cls):
    """Field hooks for the block (nested blocks share them): recording costs only inside
    a search that reduces, and every other run reads its fields as plain slots."""
    global _depth
    with _guard:
        _depth += 1
        if _depth == 1:
            _hook(task_cls, _TASK_FIELDS)
    try:
        yield
    finally:
        with _guard:
            _depth -= 1
            if _depth == 0:
                for cls, saved in _INSTALLED.items():
                    for name, slot in saved.items():
                        setattr(cls, name, slot)
                _INSTALLED.clear()


# -- containers ----------------------------------------------------------------------------
def _key(self, k, write=False, value=None):
    rec = getattr(_local, "rec", None)
    if rec is not None:
        rec.slot(self, k, write, value)


def _on_whole(base: type, name: str, write: bool = False):
    """A method of `base` that reads (or writes) the whole container."""
    method = getattr(base, name)

    def whole(self, *a, **kw):
        _key(self, ALL, write)
        return method(self, *a, **kw)
    whole.__name__ = name
    return whole


class TDict(dict):
    """A dict of the state in a recording run: each key read or written is a cell."""

    __slots__ = ()

    def __getitem__(self, k):
        v = dict.__getitem__(self, k)
        _key(self, k)
        _reached(self, k, v)
        return v

    def get(self, k, default=None):
        v = dict.get(self, k, default)
        _key(self, k)
        _reached(self, k, v)
        return v

    def __contains__(self, k):
        _key(self, k)
        return dict.__contains__(self, k)

    def __setitem__(self, k, v):
        _key(self, k, True, v)
        if not dict.__contains__(self, k):
            _key(self, SHAPE, True)
        dict.__setitem__(self, k, v)

    def __delitem__(self, k):
        _key(self, k, True)
        _key(self, SHAPE, True)
        dict.__delitem__(self, k)

    def pop(self, k, *default):
        _key(self, k, True)
        if dict.__contains__(self, k):
            _key(self, SHAPE, True)
        return dict.pop(self, k, *default)

    def setdefault(self, k, default=None):
        if not dict.__contains__(self, k):
            _key(self, k, True)
            _key(self, SHAPE, True)
        else:
            _key(self, k)
        v = dict.setdefault(self, k, default)
        _reached(self, k, v)
        return v

    def _whole(self, write=False):
        _key(self, ALL, write)

    def __iter__(self):
        self._whole()
        return dict.__iter__(self)

    def __len__(self):
        self._whole()
        return dict.__len__(self)

    def keys(self):
        self._whole()
        return dict.keys(self)

    def values(self):
        self._whole()
        return dict.values(self)

    def items(self):
        self._whole()
        return dict.items(self)

    def __eq__(self, other):
        self._whole()
        return dict.__eq__(self, other)

    __hash__ = None

    def __repr__(self):
        self._whole()
        return dict.__repr__(self)

    def copy(self):
        self._whole()
        return dict(dict.items(self))


    __or__ = _on_whole(dict, "__or__")
    __reversed__ = _on_whole(dict, "__reversed__")
    update = _on_whole(dict, "update", write=True)
    clear = _on_whole(dict, "clear", write=True)
    popitem = _on_whole(dict, "popitem", write=True)
    __ior__ = _on_whole(dict, "__ior__", write=True)


class TList(list):
    """A list of the state in a recording run: each index read or set is a cell;
    appending and popping the last change its shape, inserting elsewhere all of it."""

    __slots__ = ()

    def __getitem__(self, i):
        v = list.__getitem__(self, i)
        if type(i) is int:
            _key(self, i % _length(self) if i < 0 else i)
            _reached(self, i, v)
        else:
            _key(self, ALL)
        return v

    def __setitem__(self, i, v):
        _key(self, i % _length(self) if type(i) is int and i < 0 else i if type(i) is int else ALL, True, v)
        list.__setitem__(self, i, v)

    def _whole(self, write=False):
        _key(self, ALL, write)

    def __iter__(self):
        self._whole()
        return list.__iter__(self)

    def __len__(self):
        self._whole()
        return list.__len__(self)

    def __contains__(self, v):
        self._whole()
        return list.__contains__(self, v)

    def __eq__(self, other):
        self._whole()
        return list.__eq__(self, other)

    __hash__ = None

    def __repr__(self):
        self._whole()
        return list.__repr__(self)

    def append(self, v):
        n = list.__len__(self)
        _key(self, n, True, v)
        _key(self, SHAPE, True)
        list.append(self, v)

    def pop(self, *i):
        n = list.__len__(self)
        if not i or i[0] in (-1, n - 1):
            _key(self, n - 1, True)
            _key(self, SHAPE, True)
        else:
            _key(self, ALL, True)
        return list.pop(self, *i)

    index = _on_whole(list, "index")
    count = _on_whole(list, "count")
    copy = _on_whole(list, "copy")
    __add__ = _on_whole(list, "__add__")
    __mul__ = _on_whole(list, "__mul__")
    __lt__ = _on_whole(list, "__lt__")
    __le__ = _on_whole(list, "__le__")
    __gt__ = _on_whole(list, "__gt__")
    __ge__ = _on_whole(list, "__ge__")
    __reversed__ = _on_whole(list, "__reversed__")
    extend = _on_whole(list, "extend", write=True)
    insert = _on_whole(list, "insert", write=True)
    remove = _on_whole(list, "remove", write=True)
    clear = _on_whole(list, "clear", write=True)
    sort = _on_whole(list, "sort", write=True)
    reverse = _on_whole(list, "reverse", write=True)
    __iadd__ = _on_whole(list, "__iadd__", write=True)
    __delitem__ = _on_whole(list, "__delitem__", write=True)


def _length(lst) -> int:
    """The length without recording it (the index itself is the cell)."""
    return list.__len__(lst)


class TSet(set):
    """A set of the state in a recording run: each member tested, added or removed is
    a cell."""

    __slots__ = ()

    def __contains__(self, v):
        _key(self, v)
        return set.__contains__(self, v)

    def add(self, v):
        _key(self, v, True)
        if not set.__contains__(self, v):
            _key(self, SHAPE, True)
        set.add(self, v)

    def discard(self, v):
        _key(self, v, True)
        if set.__contains__(self, v):
            _key(self, SHAPE, True)
        set.discard(self, v)

    def remove(self, v):
        _key(self, v, True)
        _key(self, SHAPE, True)
        set.remove(self, v)

    __iter__ = _on_whole(set, "__iter__")
    __len__ = _on_whole(set, "__len__")
    __eq__ = _on_whole(set, "__eq__")
    __repr__ = _on_whole(set, "__repr__")
    __or__ = _on_whole(set, "__or__")
    __and__ = _on_whole(set, "__and__")
    __sub__ = _on_whole(set, "__sub__")
    __xor__ = _on_whole(set, "__xor__")
    __le__ = _on_whole(set, "__le__")
    __lt__ = _on_whole(set, "__lt__")
    __ge__ = _on_whole(set, "__ge__")
    __gt__ = _on_whole(set, "__gt__")
    union = _on_whole(set, "union")
    intersection = _on_whole(set, "intersection")
    difference = _on_whole(set, "difference")
    issubset = _on_whole(set, "issubset")
    issuperset = _on_whole(set, "issuperset")
    isdisjoint = _on_whole(set, "isdisjoint")
    copy = _on_whole(set, "copy")
    update = _on_whole(set, "update", write=True)
    clear = _on_whole(set, "clear", write=True)
    pop = _on_whole(set, "pop", write=True)
    difference_update = _on_whole(set, "difference_update", write=True)
    intersection_update = _on_whole(set, "intersection_update", write=True)
    __ior__ = _on_whole(set, "__ior__", write=True)
    __iand__ = _on_whole(set, "__iand__", write=True)
    __isub__ = _on_whole(set, "__isub__", write=True)
    __hash__ = None


_TRACKED = {dict: TDict, list: TList, set: TSet}
_CONTAINERS = (dict, list, set)


def _reached(container, k, value) -> None:
    """A plain container reached through a tracked one's slot: snapshot it."""
    if type(value) in _CONTAINERS:
        rec = getattr(_local, "rec", None)
        if rec is not None:
            rec.touch(value)


def track(state, tasks) -> None:
    """Make the plain containers of a new run's state (and what its tasks report) the
    tracked ones, in place, before any code holds them."""
    seen: set[int] = set()

    def conv(value):
        t = type(value)
        if t in _SCALARS or id(value) in seen:
            return value
        seen.add(id(value))
        if t is dict:
            return TDict((k, conv(v)) for k, v in value.items())
        if t is list:
            return TList(conv(v) for v in value)
        if t is set:
            return TSet(value)
        if t is tuple:
            return tuple(conv(v) for v in value)
        fields = getattr(t, "__attrs_attrs__", None)
        if fields is not None and not _frozen(t) and not _is_untracked(t):
            for f in fields:
                old = getattr(value, f.name)
                new = conv(old)
                if new is not old:
                    object.__setattr__(value, f.name, new)
        return value

    conv(state)
    for task in tasks:
        task.seen = conv(task.seen)


def _snap(value):
    """A plain container's contents as a value: nested containers by value, other
    objects by identity (an object's fields are its own cells)."""
    if isinstance(value, dict):
        return ("d", tuple((k, _snap(v)) for k, v in dict.items(value)))
    if isinstance(value, (list, tuple)):
        return ("l", tuple(_snap(v) for v in (list.__iter__(value) if isinstance(value, list) else value)))
    if isinstance(value, (set, frozenset)):
        return ("s", frozenset(set.__iter__(value) if isinstance(value, set) else value))
    t = type(value)
    if t in _SCALARS or _frozen(t):
        return value
    return ("id", id(value))


# -- footprints ------------------------------------------------------------------------------
class Footprint:
    """One step's accesses: the cells it read and wrote, what it did to which lock; a
    *global* footprint (something could not be recorded) depends on every step."""

    __slots__ = ("reads", "writes", "locks", "glob", "_paths", "_hash", "_of_tasks")

    def __init__(self, reads=frozenset(), writes=frozenset(), locks=None, glob=False):
        self.reads, self.writes, self.locks, self.glob = reads, writes, locks or {}, glob
        self._paths = None
        self._hash = None
        self._of_tasks = None

    def paths(self):
        """(containers with a slot read, with a slot written, read whole, written whole):
        a slot (its shape too) and the whole of its container conflict."""
        if self._paths is None:
            kr, kw, ar, aw = set(), set(), set(), set()
            for cells, k, a in ((self.reads, kr, ar), (self.writes, kw, aw)):
                for c in cells:
                    if type(c) is tuple and len(c) == 2 and type(c[0]) is tuple:
                        (a if c[1] == ALL else k).add(c[0])
            self._paths = (kr, kw, ar, aw)
        return self._paths

    def conflict(self, other: Footprint) -> int:
        """0 independent, 1 dependent but never enabled together, 2 a race."""
        if self.glob or other.glob:
            return 2
        w, ow = self.writes, other.writes
        if w and (not w.isdisjoint(ow) or not w.isdisjoint(other.reads)):
            return 2
        if ow and not ow.isdisjoint(self.reads):
            return 2
        if w or ow:  # a slot against the whole of its container
            kr, kw, ar, aw = self.paths()
            okr, okw, oar, oaw = other.paths()
            if (aw and not (aw.isdisjoint(okr) and aw.isdisjoint(okw) and aw.isdisjoint(oar))) or \
                    (oaw and not (oaw.isdisjoint(kr) and oaw.isdisjoint(kw) and oaw.isdisjoint(ar))) or \
                    (kw and not kw.isdisjoint(oar)) or (okw and not okw.isdisjoint(ar)):
                return 2
        out = 0
        if self.locks and other.locks:
            mine, theirs = self.locks, other.locks
            for lock, ops in mine.items():
                oth = theirs.get(lock)
                if oth is None:
                    continue
                for a in ops:
                    for b in oth:
                        pair = frozenset((a, b))
                        if pair in _INDEPENDENT:
                            continue
                        if pair in _NOT_COENABLED:
                            out = 1
                            continue
                        return 2
        return out

    @property
    def of_tasks(self) -> bool:
        """Whether a cell of it is something a task reports (its name holds a task id)."""
        if self._of_tasks is None:
            self._of_tasks = any(_task_path(c) is not None for cells in (self.reads, self.writes) for c in cells)
        return self._of_tasks

    def renamed(self, tid) -> Footprint:
        """The footprint with the task ids in its cells mapped by `tid` (symmetry)."""
        def r(c):
            path = _task_path(c)
            if path is None:
                return c
            new = ("task", tid(path[1])) + path[2:]
            return new if path is c else (new,) + c[1:]
        return Footprint(frozenset(map(r, self.reads)), frozenset(map(r, self.writes)), self.locks, self.glob)

    def _ident(self):
        return (self.reads, self.writes, frozenset((k, v) for k, v in self.locks.items()), self.glob)

    def __eq__(self, other):
        return type(other) is Footprint and self._ident() == other._ident()

    def __hash__(self):
        if self._hash is None:
            self._hash = hash(self._ident())
        return self._hash

    def __repr__(self):
        return (f"Footprint(reads={sorted(map(str, self.reads))}, writes={sorted(map(str, self.writes))}, "
                f"locks={self.locks}{', global' if self.glob else ''})")


GLOBAL = Footprint(glob=True)


def _task_path(cell):
    """The ("task", id, ...) path a cell is or is in, or None."""
    if type(cell) is not tuple or not cell:
        return None
    if cell[0] == "task":
        return cell
    head = cell[0]
    if type(head) is tuple and head and head[0] == "task":
        return head
    return None


class Recorder:
    """Records the steps of one run (run.py calls it): ``begin(task, pending)``,
    ``resume()`` while the step's code runs, ``check()`` while the invariants are
    checked after it, ``end(finished)``."""

    def __init__(self, run, task_cls):
        self.run = run
        self.task_cls = task_cls
        self.names: dict[int, tuple] = {}  # id -> path, of the state's objects
        self.kept: list = []  # the named objects, alive so that their ids stay theirs
        self.stale = True  # the state's shape may have changed: rename before the next lookup
        self.unhookable = False  # a state class whose fields cannot be hooked: every step global
        self._reset()

    def _reset(self):
        self.reads: set = set()
        self.writes: set = set()
        self.check_reads: set = set()
        self.locks: dict = {}
        self.check_locks: dict = {}
        self.snaps: dict = {}  # id(container) -> (container, its path, snapshot)
        self.checking = False

    # -- naming ---------------------------------------------------------------------------
    def _rename(self) -> None:
        was, _local.rec = getattr(_local, "rec", None), None  # the walk's own reads are not the step's
        names: dict[int, tuple] = {}
        kept: list = []

        def walk(obj, path):
            t = type(obj)
            if t in _SCALARS:
                return
            if t is tuple or t is frozenset:
                for i, v in enumerate(obj):
                    walk(v, path + (i,))
                return
            if id(obj) in names or _is_untracked(t):
                return
            fields = getattr(t, "__attrs_attrs__", None)
            if fields is not None:
                if _frozen(t):
                    return
                if not _install(t):
                    self.unhookable = True
                names[id(obj)] = path
                kept.append(obj)
                for f in fields:
                    walk(getattr(obj, f.name), path + (f.name,))
            elif isinstance(obj, dict):
                names[id(obj)] = path
                kept.append(obj)
                for k, v in dict.items(obj):
                    walk(v, path + (k,))
            elif isinstance(obj, (list, set)):
                names[id(obj)] = path
                kept.append(obj)
                if isinstance(obj, list):
                    for n, v in enumerate(list.__iter__(obj)):
                        walk(v, path + (n,))

        walk(self.run.state, ("S",))
        for task in self.run.tasks:
            walk(task.seen, ("task", task.id, "seen"))
        self.names, self.kept, self.stale = names, kept, False
        _local.rec = was

    def _name(self, obj):
        if self.stale:
            self._rename()
        return self.names.get(id(obj))

    # -- recording ------------------------------------------------------------------------
    def field(self, obj, name, value, write: bool) -> None:
        cell: tuple
        if type(obj) is self.task_cls:
            cell = ("task", obj.id, name)
        else:
            path = self._name(obj)
            if path is None:
                return  # private: see the module docstring
            cell = (path, name)
        if write:
            self.writes.add(cell)
            if not (type(value) in _SCALARS or _frozen(type(value))):
                self.stale = True  # an object or container moved in: names change
        else:
            (self.check_reads if self.checking else self.reads).add(cell)
            if type(value) in _CONTAINERS:
                self.touch(value)

    def slot(self, container, k, write: bool, value=None) -> None:
        path = self._name(container)
        if path is None:
            return
        if write:
            self.writes.add((path, k))
            # what the state holds where moved (the names change) unless a value was
            # set in place of a value, or a set changed (its members are not named)
            if k is ALL or (k is SHAPE and type(container) is not TSet) or \
                    not (type(value) in _SCALARS or _frozen(type(value))):
                self.stale = True
        else:
            (self.check_reads if self.checking else self.reads).add((path, k))

    def touch(self, container) -> None:
        """A plain container the step reached: read, and written if it changes."""
        i = id(container)
        if i in self.snaps:
            return
        path = self._name(container)
        if path is None:
            return
        self.snaps[i] = (container, path, _snap(container))
        (self.check_reads if self.checking else self.reads).add(path)

    def lock(self, lock: str, op: str) -> None:
        (self.check_locks if self.checking else self.locks).setdefault(lock, set()).add(op)

    # -- a step ---------------------------------------------------------------------------
    def begin(self, task, pending) -> None:
        """A step starts, paused until ``resume()``: its blocking acquisition or the
        condition it waited for, and the plain containers its live locals hold (a local
        may keep a list it took from the state in an earlier step)."""
        self._reset()
        if self.stale:
            self._rename()
        if hasattr(pending, "cond"):  # a WaitFor: the step reads what its condition reads
            _local.rec = self
            try:
                pending.cond(self.run.state)
            finally:
                _local.rec = None
        elif hasattr(pending, "mode") and task.elided_site is None:
            self.lock(pending.lock, ACQ_SHARED if pending.mode == "shared" else ACQ_EXCL)
        gen = task.gen
        while gen is not None and getattr(gen, "gi_frame", None) is not None:
            for v in gc.get_referents(gen):
                if type(v) in _CONTAINERS:
                    self.touch(v)
            gen = gen.gi_yieldfrom

    def resume(self) -> None:
        _local.rec = self

    def pause(self) -> None:
        _local.rec = None

    def check(self) -> None:
        """The step's code is done; the invariant checks read from here."""
        self.checking = True
        _local.rec = self

    def end(self, finished: bool) -> Footprint:
        """The step's footprint; recording stops. The checks' reads are the step's when
        it changed a cell or finished its task (a step that changed only locks, which
        no invariant reads, leaves every check's answer as it was before it)."""
        _local.rec = None
        for container, path, snap in self.snaps.values():
            if _snap(container) != snap:
                self.writes.add(path)
                self.stale = True
        self.snaps = {}
        if self.unhookable:
            return GLOBAL
        reads, locks = self.reads, self.locks
        if self.writes or finished or self.check_locks:
            reads = reads | self.check_reads
            for lock, ops in self.check_locks.items():
                locks.setdefault(lock, set()).update(ops)
        return Footprint(frozenset(reads), frozenset(self.writes), {k: frozenset(v) for k, v in locks.items()})

    def probe(self, cond) -> Footprint:
        """What a blocked task's condition reads: the footprint of its pending step."""
        saved = self.reads, self.locks, self.snaps, self.checking
        self.reads, self.locks, self.snaps, self.checking = set(), {}, {}, False
        if self.stale:
            self._rename()
        _local.rec = self
        try:
            cond(self.run.state)
        finally:
            _local.rec = None
            fp = Footprint(frozenset(self.reads), frozenset(), {k: frozenset(v) for k, v in self.locks.items()})
            self.reads, self.locks, self.snaps, self.checking = saved
        return GLOBAL if self.unhookable else fp

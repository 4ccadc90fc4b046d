"""The key of a run's state: the model state and where every task is, as bytes.

Two runs with equal keys have the same future: the same steps are enabled and every
schedule from here breaks the same invariants. So the key holds everything a task's
future depends on: its generator chain (each frame's code, instruction offset, bound
locals and value stack, which holds the iterators of `for` loops and the generator a
`yield from` delegates to), the model state, and what the task reports (``seen``).

The key is a pickle of those roots, made by the C pickler, with a hook for what pickle
cannot store by value (generators, closures, cells, code, classes built at run time).
Pickle keeps object identity *within* the key (a second reference to an object is a
back-reference to the first), so sharing is part of it: a local pointing at the folio
in ``mem.frames`` differs from a local holding an equal copy, and ``walk.private``
being ``t.seen["visited"]`` differs from two equal sets. It never uses Python ids
across keys. Something the pickler cannot store makes the state keyless
(``Unfreezable``): that state is explored without caching, never merged with another.

Locals no later instruction of their frame reads are left out (liveness.py), and a
class may register a reducer that leaves out an order nothing reads (the lock table).
Otherwise conservative, never loose: two equal sets iterating in different orders, or equal
strings that are one object in one state and two in another, give different keys
(the search only explores more). Module globals are assumed constant.
"""

from __future__ import annotations

import gc
import io
import itertools
import operator
import pickle
import sys
import types

from .liveness import live_after


class Unfreezable(Exception):
    """A value the key cannot capture: the state is not cached."""


def _k(*args):  # the callable named in the key's reduce tuples; never called
    raise AssertionError("state keys are compared, not loaded")


_REGISTRY: dict[int, tuple[int, object]] = {}  # id -> (token, object kept alive)
_TOKENS = itertools.count()  # next() and setdefault() are atomic: threads get distinct tokens
_HANDLERS: dict[type, object] = {}  # type -> its reducer, or None: pickle's own
_GEN_FRAME_OK = sys.version_info >= (3, 11)
# attrs fields of some classes that say nothing about the future: {class: names}
SKIP_FIELDS: dict[type, tuple[str, ...]] = {}


def skip_fields(cls: type, names: tuple[str, ...]) -> None:
    """Leave these attrs fields out of keys (counters, notes: nothing the future reads)."""
    SKIP_FIELDS[cls] = tuple(names)
    _HANDLERS.pop(cls, None)


_CUSTOM: dict[type, tuple] = {}  # class -> (tag, reducer(obj, tid)) registered by its module


def register(cls: type, reducer) -> None:
    """Key instances of `cls` as `reducer(obj, tid)` returns (a value pickle can store):
    for plain data whose layout holds history the future does not read (an order).
    `tid` maps each task id the object stores to the id the key gives it (symmetry)."""
    _CUSTOM[cls] = (("custom", _token(cls)), reducer)
    _HANDLERS.pop(cls, None)


def _same(tid: int) -> int:
    return tid


def _token(obj) -> int:
    """A small number for a code object or class, stable for the process."""
    hit = _REGISTRY.get(id(obj))
    if hit is None:
        hit = _REGISTRY.setdefault(id(obj), (next(_TOKENS), obj))
    return hit[0]


def _generator(gen):
    frame = gen.gi_frame
    code = gen.gi_code
    if frame is None:
        return (_k, ("gen", _token(code)))
    if not _GEN_FRAME_OK:
        raise Unfreezable("generator frames are read on Python 3.11 and later")
    # gc.get_referents() of a suspended generator: a header (its code, name, frame,
    # function), then the non-NULL locals and the value stack. Which locals are bound
    # comes from f_locals, so the same values in different locals are told apart.
    refs = gc.get_referents(gen)
    start = 0
    for i in range(min(len(refs), 8)):
        if refs[i] is code:
            start = i + 1
    func = refs[start - 2] if start >= 2 else None
    if type(func) is not types.FunctionType or func.__code__ is not code:
        raise Unfreezable(f"unexpected layout of generator {code.co_name}")
    lasti = frame.f_lasti
    seen = (code, lasti, tuple(frame.f_locals))
    layout = _LAYOUTS.get(seen)
    if layout is None:
        layout = _LAYOUTS[seen] = _layout(code, lasti, seen[2])
    names, keep, n = layout
    values = refs[start:]  # the bound locals in slot order, then the value stack
    if keep is not None:
        values = [values[i] for i in keep] + values[n:]
    # the contents go in the state slot: pickle memoizes the object before it, so
    # the cycles through a task (its generator's locals hold the task) terminate
    return (_k, ("gen", _token(code), lasti), (names, values))


_SLOTS: dict = {}  # code -> {local name: its slot}
_LAYOUTS: dict = {}  # (code, offset, bound names as f_locals lists them) -> _layout()


_NAMES: dict = {}  # each tuple of local names, once: see _layout()


def _layout(code, lasti: int, bound: tuple) -> tuple:
    """(the names the key gives the frame's locals, which bound locals it keeps: their
    places among the referents, or None for all, how many bound locals there are).

    Equal tuples of names are one object: pickle writes a second reference to an object
    as a back-reference, so were equal names sometimes one object and sometimes two
    (layouts cached apart because f_locals listed the names in another order), equal
    states would get different keys."""
    names = _bound_names(code, bound)
    keep = None
    if not code.co_cellvars and not code.co_freevars:  # a cell is a referent even while empty: keep all
        live = live_after(code, lasti)
        if live is not None and not live.issuperset(names):
            keep = [i for i, name in enumerate(names) if name in live]
    n = len(names)
    if keep is not None:
        names = tuple(names[i] for i in keep)
    return _NAMES.setdefault(names, names), keep, n


def _bound_names(code, f_locals) -> tuple:
    """The bound locals' names in slot order (the order of the referents). Not the
    f_locals dict's own order: CPython 3.11 updates that dict in place, so its order
    is the order names were first bound and seen, which is history, not state."""
    slots = _SLOTS.get(code)
    if slots is None:
        names = code.co_varnames + code.co_cellvars + code.co_freevars
        slots = _SLOTS[code] = {n: i for i, n in reversed(list(enumerate(names)))}
    return tuple(sorted(f_locals, key=slots.__getitem__))


def _function(fn):
    if fn.__closure__ is None and "<" not in fn.__qualname__:
        return NotImplemented  # a module-level function: by name
    return (_k, ("fn", _token(fn.__code__)), (fn.__closure__, fn.__defaults__, fn.__kwdefaults__))


def _cell(cell):
    try:
        return (_k, ("cell",), cell.cell_contents)
    except ValueError:  # empty
        return (_k, ("cell", "empty"))


def _code(code):
    return (_k, ("code", _token(code)))


def _attrs(cls):
    """attrs classes by their fields (minus SKIP_FIELDS), without their pickle protocol."""
    names = [f.name for f in cls.__attrs_attrs__ if f.name not in SKIP_FIELDS.get(cls, ())]
    tag = ("attrs", _token(cls))
    if not names:
        return lambda obj: (_k, tag)
    get = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda obj: (_k, tag, (get(obj),))
    return lambda obj: (_k, tag, get(obj))


_HANDLERS.update({types.GeneratorType: _generator, types.FunctionType: _function,
                  types.CellType: _cell, types.CodeType: _code})


class _Pickler(pickle.Pickler):
    def __init__(self, file, tid):
        super().__init__(file, protocol=5)
        self.tid = tid

    def reducer_override(self, obj):
        cls = type(obj)
        try:
            handler = _HANDLERS[cls]
        except KeyError:
            custom = _CUSTOM.get(cls)
            if custom is None:  # a subclass too: it stores its task ids where its base does
                custom = next((_CUSTOM[base] for base in cls.__mro__ if base in _CUSTOM), None)
                if custom is not None:
                    _CUSTOM[cls] = custom  # the next key of this class skips the walk
            if custom is not None:
                return (_k, custom[0], (custom[1](obj, self.tid),))
            if cls is type or isinstance(obj, type):
                return (_k, ("class", _token(obj)))  # classes composed at run time too
            handler = _HANDLERS[cls] = _attrs(cls) if hasattr(cls, "__attrs_attrs__") else None
        if handler is None:
            return NotImplemented
        return handler(obj)


def state_key(*roots, tid=_same) -> bytes:
    """The roots as one key (references between them kept); Unfreezable if impossible.
    `tid` renames the task ids objects store (registered reducers apply it)."""
    buf = io.BytesIO()
    try:
        _Pickler(buf, tid).dump(roots)
    except Unfreezable:
        raise
    except Exception as e:  # noqa: BLE001  (whatever pickle refuses: no key, no merge)
        raise Unfreezable(f"{type(e).__name__}: {e}") from None
    return buf.getvalue()

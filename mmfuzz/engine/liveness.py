"""Which locals a suspended generator frame may still read: the rest are dead.

A state's key holds every task's frames (statekey.py). Two frames at the same yield
that differ only in a local no later instruction reads have the same future, so the
key leaves dead locals out: the last iteration's ``folio`` in a loop that reassigns it
before any read, ``pfn`` after its last use. This is the compiler's classic backward
liveness over the bytecode's control flow graph:

    live_in(i) = uses(i) | (live_out(i) - defs(i));  live_out(i) = union of live_in(successors)

Conservative wherever it could be loose: every instruction a ``try`` covers may jump to
its handler; a superinstruction that stores and loads counts as a use only; cell and
free variables (closures may read them at any time), and every local of a code object
that names ``locals``, ``vars`` or ``_getframe``, are always live; an offset the
analysis does not know keeps every local.
"""

from __future__ import annotations

import dis
import types

_ENDS_FLOW = {"RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD", "JUMP_BACKWARD",
              "JUMP_BACKWARD_NO_INTERRUPT", "JUMP_ABSOLUTE", "JUMP", "JUMP_NO_INTERRUPT"}
_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)
_INTROSPECTS = {"locals", "vars", "_getframe"}

_LIVE: dict = {}  # code -> {offset: frozenset of names live after the instruction there} or None


def _analyse(code: types.CodeType):
    bc = dis.Bytecode(code)
    if _INTROSPECTS & set(code.co_names) or not hasattr(bc, "exception_entries"):
        return None  # before 3.11 a try block is entered, not a table: no edges per instruction
    ins = list(bc)
    index = {x.offset: i for i, x in enumerate(ins)}
    succ: list[list[int]] = [[] for _ in ins]
    for i, x in enumerate(ins):
        if x.opname not in _ENDS_FLOW and i + 1 < len(ins):
            succ[i].append(i + 1)
        if x.opcode in _JUMPS and isinstance(x.argval, int) and x.argval in index:
            succ[i].append(index[x.argval])
    for entry in bc.exception_entries:
        if entry.target not in index:
            return None
        for i, x in enumerate(ins):
            if entry.start <= x.offset <= entry.end:
                succ[i].append(index[entry.target])
    uses: list[frozenset[str]] = []
    defs: list[frozenset[str]] = []
    for x in ins:
        args = x.argval if isinstance(x.argval, tuple) else (x.argval,)
        names = frozenset(n for n in args if isinstance(n, str))
        if x.opname in ("STORE_FAST", "DELETE_FAST"):
            uses.append(frozenset())
            defs.append(names)
        elif "FAST" in x.opname:  # LOAD_FAST, LOAD_FAST_CHECK, superinstructions: uses
            uses.append(names)
            defs.append(frozenset())
        else:
            uses.append(frozenset())
            defs.append(frozenset())
    empty: frozenset[str] = frozenset()
    live_in = [empty] * len(ins)
    live_out = [empty] * len(ins)
    changed = True
    while changed:
        changed = False
        for i in range(len(ins) - 1, -1, -1):
            out = frozenset().union(*(live_in[j] for j in succ[i])) if succ[i] else frozenset()
            new_in = uses[i] | (out - defs[i])
            if out != live_out[i] or new_in != live_in[i]:
                live_out[i], live_in[i] = out, new_in
                changed = True
    return {x.offset: live_out[i] for i, x in enumerate(ins)}


def live_after(code: types.CodeType, offset: int):
    """The plain locals (co_varnames) the frame may read after the instruction at
    `offset` (its f_lasti); None: keep them all."""
    try:
        table = _LIVE[code]
    except KeyError:
        table = _LIVE[code] = _analyse(code)
    if table is None:
        return None
    return table.get(offset)

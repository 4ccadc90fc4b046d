"""The whole machine a run works on: plain data, deterministic, hashable via freeze()."""

from __future__ import annotations

import copy

import attrs

from mmfuzz.engine.locks import LockTable

from .memory import PhysMem


@attrs.define
class State:
    locks: LockTable = attrs.Factory(LockTable)
    mem: PhysMem = attrs.Factory(PhysMem)
    mms: list = attrs.Factory(list)  # one MM per process
    files: dict = attrs.Factory(dict)  # name -> AddressSpace
    devices: dict = attrs.Factory(dict)  # name -> device state (VFIO)
    # scenario-specific plain data (block maps, observations for invariants, ...)
    extra: dict = attrs.Factory(dict)

    @property
    def mm(self):
        """The first process's mm (most scenarios have one)."""
        return self.mms[0]

    def clone(self) -> State:
        return copy.deepcopy(self)

    def key(self):
        """A hashable snapshot, for state hashing in an exhaustive explorer."""
        return freeze(self)


def freeze(obj):
    if attrs.has(type(obj)):
        return (type(obj).__name__,) + tuple(freeze(getattr(obj, f.name)) for f in attrs.fields(type(obj)))
    if isinstance(obj, dict):
        return tuple(sorted((freeze(k), freeze(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return tuple(freeze(x) for x in obj)
    if isinstance(obj, (set, frozenset)):
        return tuple(sorted(freeze(x) for x in obj))
    return obj

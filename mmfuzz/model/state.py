"""The whole machine a run works on: plain data, deterministic, keyed by key()."""

from __future__ import annotations

import copy

import attrs

from mmfuzz.engine.locks import LockTable
from mmfuzz.engine.statekey import state_key

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

    def clone(self) -> "State":
        return copy.deepcopy(self)

    def key(self) -> bytes:
        """The state as bytes: equal for equal states (mmfuzz.engine.statekey). The
        explorer keys the state together with the tasks, in one key."""
        return state_key(self)

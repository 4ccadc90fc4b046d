"""The public API: everything a race package or a test needs, from one module.

    from mmfuzz.api import Scenario, Actor, scenario, code_path, release, KernelCode, fuzz

Besides the engine's names, the model and kernel contracts a code path relies on:
``State``, ``new_mm``/``MM``/``Vma`` (processes and their VMAs), ``VM_OPS`` (the
vm_operations_struct registry keyed by ``Vma.ops``) and the fault structs ``Vmf`` and
``FileVmf`` (docs/writing-a-scenario.md lists their fields).

These names stay importable from here whatever the engine's modules are called. The
functions that take a scenario by name (fuzz, exhaust/explore, prepare, get_scenario)
load the race packages first (mmfuzz.races), as the command line does.
"""

from __future__ import annotations

import importlib

from mmfuzz import races
from mmfuzz.engine import explore as _explore
from mmfuzz.engine import fuzz as _fuzz
from mmfuzz.engine import mutate as _mutate
from mmfuzz.engine import target as _target
from mmfuzz.engine.result import FuzzResult
from mmfuzz.engine.run import Run, StaleSchedule
from mmfuzz.engine.scenario import SCENARIOS, Actor, Scenario, scenario
from mmfuzz.engine import scenario as _scenario
from mmfuzz.engine.task import EXCL, SHARED, Acquire, Task, WaitFor, inline, primitive
from mmfuzz.engine.versions import PATHS, RELEASES, MissingCodePath, UnknownName, code_path, release
from mmfuzz.engine.violations import Bug, InvariantBroken, KernelCrash, Oops, Violation
from mmfuzz.kernel.base import KernelCode
from mmfuzz.kernel.locking import (PageLocked, down_read, down_read_trylock, down_write, lock_page,
                                   mutex_lock, mutex_unlock, page_lock_name, spin_lock, spin_unlock,
                                   trylock_page, unlock_page, up_read, up_write, wait_on_page_locked)
from mmfuzz.kernel.mm.memory import VM_OPS, FileVmf, VmOperations, Vmf
from mmfuzz.model.mm import MM, MMAP_LOCK, Vma, new_mm
from mmfuzz.model.state import State

load_races = races.load


def fuzz(scenario: str, kernel: str, **kw) -> FuzzResult:
    """Fuzz one scenario against one named kernel (see mmfuzz.engine.fuzz.fuzz)."""
    races.load()
    return _fuzz.fuzz(scenario, kernel, **kw)


def exhaust(scenario: str, kernel: str, **kw) -> FuzzResult:
    """Every schedule within a preemption bound (see mmfuzz.engine.explore.exhaust)."""
    races.load()
    return _explore.exhaust(scenario, kernel, **kw)


explore = exhaust


def prove(scenario: str, kernel: str, **kw) -> FuzzResult:
    """Every interleaving if it fits a state budget, else a bounded search (see
    mmfuzz.engine.explore.prove)."""
    races.load()
    return _explore.prove(scenario, kernel, **kw)


def mutate(scenario: str, kernel: str, **kw):
    """Each protection mutant of a clean verdict, explored (see mmfuzz.engine.mutate.mutate)."""
    races.load()
    return _mutate.mutate(scenario, kernel, **kw)


def prepare(scenario: str, kernel: str, overrides=None, options=None):
    """(scenario object, selected versions, composed kernel class)."""
    races.load()
    return _target.prepare(scenario, kernel, overrides, options)


def get_path(name: str):
    """A code path mmfuzz already has, to add a version to it from a race package:
    ``@get_path("handle_mm_fault").version("v4.8", since="v4.8", models=...)``."""
    importlib.import_module(races.BUILTIN)  # not load(): this runs while a package loads
    if name not in PATHS:
        raise UnknownName(f"unknown code path {name!r}; known: {', '.join(sorted(PATHS))}")
    return PATHS[name]


def get_scenario(name: str, options=None) -> Scenario:
    races.load()
    return _scenario.get_scenario(name, options)


__all__ = [
    "Acquire", "Actor", "Bug", "EXCL", "FileVmf", "FuzzResult", "InvariantBroken", "KernelCode",
    "KernelCrash", "MM", "MMAP_LOCK", "MissingCodePath", "VM_OPS", "VmOperations", "Vma", "Vmf", "new_mm", "Oops", "PATHS",
    "PageLocked", "RELEASES", "Run", "SCENARIOS", "SHARED",
    "Scenario", "StaleSchedule", "State", "Task", "UnknownName", "Violation", "WaitFor", "code_path",
    "down_read", "down_read_trylock", "down_write", "exhaust", "explore", "fuzz", "get_path", "get_scenario",
    "inline", "load_races", "lock_page", "mutate", "mutex_lock", "mutex_unlock", "page_lock_name", "prepare",
    "primitive", "prove", "release", "scenario", "spin_lock", "spin_unlock", "trylock_page", "unlock_page",
    "up_read", "up_write", "wait_on_page_locked",
]

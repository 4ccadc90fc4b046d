"""Race packages: where scenarios, code paths and named kernels come from.

mmfuzz's own races are the package ``mmfuzz.scenarios``. Any other package adds its
own by naming a module that registers them on import (``@scenario``, ``code_path``,
``release``), found three ways:

- an installed distribution's entry point in the group ``mmfuzz.races``
  (``[project.entry-points."mmfuzz.races"] mypkg = "mypkg.races"``): installing it is enough;
- the environment variable ``MMFUZZ_RACES=pkg.mod,other.mod``;
- ``--races pkg.mod`` on the command line, ``--mmfuzz-races`` for the pytest plugin
  (both set that variable, so subprocesses and local campaign workers load the same
  races; a campaign shard also carries them, for workers on other machines).

Every command, the pytest plugin, campaign shards and replay call ``load()`` before
looking a name up. The engine itself never imports races: it only keeps the registries.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib import metadata

from mmfuzz.engine.versions import UnknownName

BUILTIN = "mmfuzz.scenarios"
ENTRY_POINT_GROUP = "mmfuzz.races"
ENV = "MMFUZZ_RACES"

_loaded: dict[str, str] = {}  # module name -> how it was found
_registered_by: dict[str, str] = {}  # scenario name -> the race module whose import registered it
_entry_points: dict[tuple, list] = {}  # sys.path -> [(module, how)]: a scan costs milliseconds


def env_modules() -> list[str]:
    """The race modules named by $MMFUZZ_RACES (and so by --races)."""
    return [m.strip() for m in os.environ.get(ENV, "").split(",") if m.strip()]


def add(modules) -> None:
    """Name more race modules (--races): loaded now, and by every subprocess after."""
    names = list(dict.fromkeys(env_modules() + [m for m in modules if m]))
    if names:
        os.environ[ENV] = ",".join(names)
    load()


def _scenarios() -> dict:
    # imported late: the corpus schema names BUILTIN, and `mmfuzz --help` must not pay
    # for the engine (Hypothesis)
    from mmfuzz.engine.scenario import SCENARIOS

    return SCENARIOS


def _import(module: str, how: str) -> None:
    if module in _loaded:
        return
    SCENARIOS = _scenarios()
    before = set(SCENARIOS)
    try:
        importlib.import_module(module)
    except ImportError as e:
        raise UnknownName(f"cannot load race package {module!r} ({how}): {e}") from None
    except Exception as e:  # noqa: BLE001  (a broken package is bad input, never a traceback)
        raise UnknownName(f"race package {module!r} ({how}) failed to load: {type(e).__name__}: {e}") from None
    _loaded[module] = how
    for name in set(SCENARIOS) - before:
        _registered_by[name] = module


def _installed() -> list[tuple[str, str]]:
    key = tuple(sys.path)
    if key not in _entry_points:
        _entry_points[key] = [
            (ep.value.split(":")[0].strip(),
             f"entry point {ep.name} of {ep.dist.name if ep.dist else '?'}")
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]
    return _entry_points[key]


def load() -> dict[str, str]:
    """Import every race package once; returns {module: how it was found}."""
    _import(BUILTIN, "built in")
    for module, how in _installed():
        _import(module, how)
    for module in env_modules():
        _import(module, f"named by --races or ${ENV}")
    return dict(_loaded)


def loaded(module: str) -> bool:
    return module in _loaded


def package_of(scenario_cls) -> str:
    """The race module a scenario came from, as a corpus entry records it: the module
    whose import registered it (what --races needs), else the loaded race module it
    lives in, else its own module (a scenario registered by importing it directly)."""
    SCENARIOS = _scenarios()
    if _registered_by.get(scenario_cls.name) and SCENARIOS.get(scenario_cls.name) is scenario_cls:
        return _registered_by[scenario_cls.name]
    module = scenario_cls.__module__
    for name in sorted(_loaded, key=len, reverse=True):
        if module == name or module.startswith(name + "."):
            return name
    return module


def extra_modules(scenario_names=()) -> list[str]:
    """The race modules a worker on another machine must import to run these scenarios:
    $MMFUZZ_RACES, and the package of each scenario that is not built in."""
    SCENARIOS = _scenarios()
    packages = [package_of(SCENARIOS[n]) for n in scenario_names if n in SCENARIOS]
    return list(dict.fromkeys(env_modules() + [p for p in packages if p != BUILTIN]))

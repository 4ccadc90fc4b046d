"""Race packages: where scenarios, code paths and named kernels come from.

mmfuzz's own races are the package ``mmfuzz.scenarios``. Any other package adds its
own by naming a module that registers them on import (``@scenario``, ``code_path``,
``release``), found three ways:

- an installed distribution's entry point in the group ``mmfuzz.races``
  (``[project.entry-points."mmfuzz.races"] mypkg = "mypkg.races"``): installing it is enough;
- the environment variable ``MMFUZZ_RACES=pkg.mod,other.mod``;
- ``--races pkg.mod`` on the command line (which sets that variable, so subprocesses
  and campaign workers load the same races).

Every command, the pytest plugin, campaign shards and replay call ``load()`` before
looking a name up. The engine itself never imports races: it only keeps the registries.
"""

from __future__ import annotations

import importlib
import os
from importlib import metadata

from mmfuzz.engine.versions import UnknownName

BUILTIN = "mmfuzz.scenarios"
ENTRY_POINT_GROUP = "mmfuzz.races"
ENV = "MMFUZZ_RACES"

_loaded: dict[str, str] = {}  # module name -> how it was found


def _env_modules() -> list[str]:
    return [m.strip() for m in os.environ.get(ENV, "").split(",") if m.strip()]


def add(modules) -> None:
    """Name more race modules (--races): loaded now, and by every subprocess after."""
    names = list(dict.fromkeys(_env_modules() + [m for m in modules if m]))
    os.environ[ENV] = ",".join(names)
    load()


def _import(module: str, how: str) -> None:
    if module in _loaded:
        return
    try:
        importlib.import_module(module)
    except ImportError as e:
        raise UnknownName(f"cannot load race package {module!r} ({how}): {e}") from None
    _loaded[module] = how


def load() -> dict[str, str]:
    """Import every race package once; returns {module: how it was found}."""
    _import(BUILTIN, "built in")
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        _import(ep.value.split(":")[0], f"entry point {ep.name} of {ep.dist.name if ep.dist else '?'}")
    for module in _env_modules():
        _import(module, f"${ENV}")
    return dict(_loaded)


def package_of(scenario_cls) -> str:
    """The race module a scenario came from, as recorded in corpus entries."""
    module = scenario_cls.__module__
    for name in sorted(_loaded, key=len, reverse=True):
        if module == name or module.startswith(name + "."):
            return name
    return module

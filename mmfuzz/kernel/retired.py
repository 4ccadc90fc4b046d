"""Ending a code path at a release: later kernels do not compose it.

A named kernel selects, for every path, the version with the latest ``since``. A path
modelled only for old kernels (the 2007 ->nopage fault path, the tree_lock page cache)
would otherwise be composed into every later kernel too, where its function names can
clash with the modern paths'. ``retire()`` registers an empty version at the release
from which the model no longer covers the path.
"""

from __future__ import annotations

from mmfuzz.kernel.base import KernelCode


def retire(path, since: str, why: str) -> None:
    """Register the empty version "not-modelled" of `path`, selected from `since` on."""

    class NotModelled(KernelCode):
        pass

    NotModelled.__doc__ = f"Not modelled from {since} on: {why}"
    NotModelled.__name__ = NotModelled.__qualname__ = f"NotModelled_{path.name}"
    path.version("not-modelled", since=since, models=f"no code: {why}")(NotModelled)

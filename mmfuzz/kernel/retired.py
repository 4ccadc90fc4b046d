"""Ending a code path at a release: later kernels do not have it (see CodePath.retire).

A named kernel selects, for every path, the version with the latest ``since``. A path
modelled only for old kernels (the 2007 ->nopage fault path, the tree_lock page cache)
would otherwise be composed into every later kernel too, where its function names can
clash with the modern paths', and a scenario needing it would run on a kernel without it.
"""

from __future__ import annotations


def retire(path, since: str, why: str) -> None:
    """From `since` on, named kernels do not have `path`."""
    path.retire(since, why)

"""What makes two findings the same race.

Raw step counts and task ids change with every shrink; the code-path steps at which
the CPUs hand over to each other do not. A race is identified by its scenario and
options, the code it ran (every path's version), the invariant it broke, the labels
on both sides of every switch, and the label of the step that broke it.
"""

from __future__ import annotations

import hashlib
import json


def switch_points(steps) -> list[list[str]]:
    return [[a[1], b[1]] for a, b in zip(steps, steps[1:]) if a[0] != b[0]]


def signature(scenario: str, options: dict, versions: dict, invariant: str, steps) -> dict:
    body = {
        "scenario": scenario,
        "options": dict(sorted(options.items())),
        "versions": dict(sorted(versions.items())),
        "invariant": invariant,
        "switches": switch_points(steps),
        "last": steps[-1][1],
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return {"id": digest[:16]} | body

"""Hypothesis settings profiles: `ci` (fast, the default test run) and `nightly` (long).

The explain phase is left out of both: it re-runs a found race many times to annotate
Hypothesis's own report, which mmfuzz replaces with its timeline (measured in
benchmarks/bench_explain.py).
"""

from hypothesis import HealthCheck, Phase, settings

PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)


# Rules per example. A rule runs one task for a burst of up to MAX_BURST steps, and the
# races modelled need a few dozen steps: more rules only add Hypothesis overhead.
STEP_RULES = 8


def register() -> None:
    common = dict(deadline=None, phases=PHASES, suppress_health_check=list(HealthCheck),
                  stateful_step_count=STEP_RULES)
    settings.register_profile("ci", max_examples=1000, **common)
    settings.register_profile("nightly", max_examples=50_000, **common)
    settings.register_profile("dev", max_examples=1000, **common)

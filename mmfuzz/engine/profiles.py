"""Hypothesis settings profiles: `mmfuzz-ci` (fast, the default) and `mmfuzz-nightly` (long).

Namespaced so that loading mmfuzz (its pytest plugin is loaded in every pytest run of
the venv) never changes Hypothesis's own `default`/`ci` profiles, which other test
suites rely on. `ci`, `nightly` and `dev` are accepted as aliases by `resolve()` (the
command line's `--profile ci|nightly`), never registered.

The explain phase is left out: it re-runs a found race many times to annotate
Hypothesis's own report, which mmfuzz replaces with its timeline.
"""

from hypothesis import HealthCheck, Phase, settings

PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)

# Rules per example. A rule runs one task for a burst of up to MAX_BURST steps, and the
# races modelled need a few dozen steps: more rules only add Hypothesis overhead.
STEP_RULES = 8

CI, NIGHTLY = "mmfuzz-ci", "mmfuzz-nightly"
ALIASES = {"ci": CI, "nightly": NIGHTLY, "dev": CI}
NAMES = (CI, NIGHTLY)


# Examples per profile. An example of the default (bounded) machine runs up to 512
# schedules of its population: at 200, every racy_on row was found in 103 of 103 seeds
# (the slowest, Max's question, at 170; benchmarks/bench_fuzz.py), and a clean
# pagewalk kernel costs about 100k schedules.
CI_EXAMPLES, NIGHTLY_EXAMPLES = 200, 50_000


def register() -> None:
    for name, examples in ((CI, CI_EXAMPLES), (NIGHTLY, NIGHTLY_EXAMPLES)):
        settings.register_profile(name, max_examples=examples, deadline=None, phases=PHASES,
                                  suppress_health_check=list(HealthCheck), stateful_step_count=STEP_RULES)


def resolve(name: str | None) -> str:
    """The registered name for a profile name or alias (None: mmfuzz-ci)."""
    return ALIASES.get(name or CI, name or CI)

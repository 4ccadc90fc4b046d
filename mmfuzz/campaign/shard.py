"""One shard: fuzz one target for a chunk of examples with one seed, on a worker.

Runs in worker processes (Dask pickles it by reference: it must stay a module-level
function of plain data in, plain data out). A race comes back as a finished corpus
entry (minimized and replay-checked here, where the CPU is); the campaign's driver is
the only process that writes the corpus. Any failure is returned, not raised: one bad
shard must not end a night's campaign.
"""

from __future__ import annotations

import time
import traceback
import warnings


def _explore(spec: dict):
    """Every schedule within the bound, for one small population of the scenario; with
    "all", every interleaving when that fits in spec["max_states"] states (else within
    spec["fallback"] preemptions)."""
    from mmfuzz.api import exhaust, get_scenario, prove

    counts = get_scenario(spec["scenario"], spec["options"]).exact_counts(spec["population"])
    common = dict(overrides=spec["overrides"], options=spec["options"], counts=counts, max_runs=spec["max_runs"])
    if spec["preemptions"] == "all":
        return prove(spec["scenario"], spec["kernel"], max_states=spec["max_states"],
                     fallback=spec["fallback"], **common)
    return exhaust(spec["scenario"], spec["kernel"], max_preemptions=spec["preemptions"], **common)


def _mutate(spec: dict):
    """Is a clean verdict evidence? Its declared protections' mutants (or, if it declares
    none, every mutant) explored; returns (schedules, why it is vacuous or "")."""
    from mmfuzz.api import mutate

    named = {name: inv for name, inv in spec["rests_on"]}
    m = mutate(spec["scenario"], spec["kernel"], overrides=spec["overrides"], options=spec["options"],
               max_preemptions=spec["preemptions"], max_runs=spec["max_runs"],
               only=list(named) or None, baseline=not named)
    schedules = m.baseline.schedules + sum(r.schedules for r in m.results)
    if m.incomplete or m.baseline.verdict != "clean":
        return schedules, ""  # out of budget, or racy: the explore and fuzz shards say so
    wrong = [r.mutant.name for r in m.results if named and (r.verdict, r.invariant) != ("racy", named[r.mutant.name])]
    if not m.rests_on:
        return schedules, ("vacuous clean verdict: no protection mutant breaks it"
                           + (f" (not even its rests_on: {', '.join(named)})" if named else " (it declares no rests_on)"))
    if wrong:
        return schedules, f"does not rest on {', '.join(wrong)} as its rests_on says"
    return schedules, ""


def run_shard(spec: dict) -> dict:
    from mmfuzz import __version__, races
    from mmfuzz.api import fuzz
    from mmfuzz.corpus.record import entry_from_result
    from mmfuzz.engine import profiles

    profiles.register()
    # Dask's own threads touch the global `random` module while a shard runs; Hypothesis
    # takes that for the test using it and warns. Nothing here uses it.
    warnings.filterwarnings("ignore", message="Do not use the `random` module inside strategies")
    out = {"key": spec["key"], "mode": spec.get("mode", "fuzz"), "seed": spec["seed"], "examples": 0, "steps": 0, "seconds": 0.0,
           "entry": None, "error": None, "mmfuzz": __version__}
    start = time.perf_counter()
    try:
        races.add(spec.get("races") or ())  # the driver's --races, on any machine
        database = None
        if spec.get("database"):
            from hypothesis.database import DirectoryBasedExampleDatabase

            # an accelerator shared by workers, never the record: the corpus is
            database = DirectoryBasedExampleDatabase(spec["database"])
        if spec.get("mode") == "mutate":
            out["examples"], out["vacuous"] = _mutate(spec)
            out["seconds"] = round(time.perf_counter() - start, 3)
            return out
        if spec.get("mode") == "explore":
            r = _explore(spec)
        else:
            r = fuzz(spec["scenario"], spec["kernel"], overrides=spec["overrides"], options=spec["options"],
                     seed=spec["seed"], max_examples=spec["examples"], profile=spec["profile"],
                     database=database)
        out["examples"] = r.examples
        out["steps"] = getattr(r, "executed_steps", 0)
        if r.found:
            entry = entry_from_result(r, spec["overrides"], seed=spec["seed"], profile=spec["profile"])
            out["entry"] = entry.to_json()
    except Exception as e:  # noqa: BLE001  (reported in the campaign's report)
        out["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}"
    out["seconds"] = round(time.perf_counter() - start, 3)
    return out

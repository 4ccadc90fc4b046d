"""The campaign loop: hand out time-boxed shards until the deadline, keep every race.

Shards are short (a chunk of examples sized from the target's measured speed to last a
few seconds), so the deadline is kept, every target gets its turn (fewest shards
first), and an interruption loses at most the shards in flight. Every race is written
to the corpus the moment its shard returns: Ctrl-C, SIGTERM or a dead worker cannot
take back what was already found.
"""

from __future__ import annotations

import random
import signal
import threading
import time

import attrs

from mmfuzz.corpus.schema import BadEntry, Entry, from_json
from mmfuzz.corpus.store import CorpusError, save, signatures
from mmfuzz.api import get_scenario  # loads the race packages first
from mmfuzz.races import extra_modules

SHARD_SECONDS = 5.0  # aim of one shard's length: short enough to stop on time
FIRST_CHUNK = 50  # examples of a target's first shard, before its speed is known
# the exhaustive shards: every interleaving when it fits in EXPLORE_STATES distinct states
# (a few seconds on one core), else every schedule within EXPLORE_FALLBACK preemptions
# (every known race needs 1-3)
EXPLORE_PREEMPTIONS = "all"
EXPLORE_STATES = 3000
EXPLORE_FALLBACK = 2
EXPLORE_RUNS = 10_000  # schedules per exhaustive shard


@attrs.define
class Cell:
    """What one target (scenario x kernel row) did."""

    row: object
    shards: int = 0
    examples: int = 0
    steps: int = 0
    seconds: float = 0.0
    rate: float = 0.0  # examples per second of its last clean shard
    findings: int = 0
    new: list = attrs.Factory(list)  # names of entries this campaign wrote
    known: list = attrs.Factory(list)  # names of entries that were already there
    invariants: set = attrs.Factory(set)
    errors: list = attrs.Factory(list)
    explored: int = 0  # how many of the scenario's explore_with populations were run
    mutated: bool = False  # a clean row's mutate shard was handed out
    vacuous: str = ""  # why the clean verdict is not evidence (its mutate shard), if it is not

    @property
    def found(self) -> bool:
        return self.findings > 0


@attrs.define
class Summary:
    cells: list
    budget: float
    backend: str = ""
    corpus: str = ""
    started: float = attrs.Factory(time.time)
    elapsed: float = 0.0
    running: int = 0
    interrupted: str = ""  # why it stopped early, if it did
    corpus_before: int = 0
    new_entries: list = attrs.Factory(list)  # Entry objects written by this campaign
    unsaved: list = attrs.Factory(list)  # (Entry, why) for races the corpus could not take
    lost: str = ""  # the backend failed (a lost Dask scheduler): the campaign could not go on

    examples = property(lambda s: sum(c.examples for c in s.cells))
    steps = property(lambda s: sum(c.steps for c in s.cells))
    findings = property(lambda s: sum(c.findings for c in s.cells))
    new = property(lambda s: len(s.new_entries))
    duplicates = property(lambda s: s.findings - s.new)
    errors = property(lambda s: sum(len(c.errors) for c in s.cells))

    @property
    def incomplete(self) -> bool:
        """Not every shard ran to its end: shard errors, unsaved races, a lost cluster."""
        return bool(self.errors or self.lost)

    @property
    def unexpected(self) -> list:
        """Cells declared clean that broke an invariant: the campaign fails on these."""
        return [c for c in self.cells if c.row.expect == "clean" and c.found]

    @property
    def vacuous(self) -> list:
        """Cells declared clean whose verdict no protection mutant breaks: failures too."""
        return [c for c in self.cells if c.vacuous]


class Campaign:
    def __init__(self, rows, *, seconds: float, backend, corpus, progress, profile: str = "nightly",
                 chunk: int | None = None, seed: int | None = None, database: str | None = None,
                 grace: float = 60.0):
        self.cells = {self.key(r): Cell(r) for r in rows}
        self.seconds, self.backend, self.corpus = seconds, backend, corpus
        self.progress, self.profile, self.chunk = progress, profile, chunk
        self.database, self.grace = database, grace
        self.seeds = random.Random(seed)

    @staticmethod
    def key(row) -> str:
        return f"{row.scenario}|{row.label}"

    # -- shards ---------------------------------------------------------------------
    def next_spec(self, remaining: float) -> dict:
        cell = min(self.cells.values(), key=lambda c: c.shards)
        cell.shards += 1
        row = cell.row
        # a worker on another machine has no --races of ours: the spec names them
        target = {"key": self.key(row), "scenario": row.scenario, "kernel": row.kernel,
                  "overrides": dict(row.overrides), "options": dict(row.options),
                  "races": extra_modules([row.scenario])}
        populations = get_scenario(row.scenario, dict(row.options)).explore_with
        if cell.explored < len(populations):
            # first every interleaving (or within the bound) of each small population: races of
            # three CPUs and three preemptions that fuzzing meets once in thousands
            population = populations[cell.explored]
            cell.explored += 1
            return target | {"mode": "explore", "population": dict(population),
                             "preemptions": EXPLORE_PREEMPTIONS, "max_states": EXPLORE_STATES,
                             "fallback": EXPLORE_FALLBACK, "max_runs": EXPLORE_RUNS,
                             "seed": None, "profile": None}
        if row.expect == "clean" and not cell.mutated:
            # then is the clean verdict evidence: does a mutant of a protection break it?
            # (mutants are searched within the bounded search's preemptions)
            cell.mutated = True
            return target | {"mode": "mutate", "rests_on": [list(p) for p in row.rests_on],
                             "preemptions": EXPLORE_FALLBACK, "max_runs": EXPLORE_RUNS,
                             "seed": None, "profile": None}
        if self.chunk:
            n = self.chunk
        elif cell.rate:
            n = int(cell.rate * min(SHARD_SECONDS, max(1.0, remaining)))
        else:
            n = FIRST_CHUNK
        return target | {"seed": self.seeds.randrange(2**32), "examples": max(10, n),
                         "profile": self.profile, "database": self.database}

    def take(self, result: dict, summary: Summary) -> None:
        cell = self.cells[result["key"]]
        cell.examples += result["examples"]
        cell.steps += result["steps"]
        cell.seconds += result["seconds"]
        if result.get("vacuous"):
            cell.vacuous = result["vacuous"]
            self.progress.say(f"{cell.row.scenario} on {cell.row.label}: {cell.vacuous}")
        if result["error"]:
            cell.errors.append(result["error"])
            self.progress.say(f"shard error on {cell.row.scenario} {cell.row.label}: "
                              f"{result['error'].splitlines()[0]}")
            return
        if result["entry"] is None:
            if result["seconds"] > 0 and result.get("mode", "fuzz") == "fuzz":  # sizes fuzz chunks
                cell.rate = result["examples"] / result["seconds"]
            return
        try:
            entry = from_json(result["entry"])
        except BadEntry as e:  # a worker running another mmfuzz version
            cell.errors.append(f"worker sent a bad entry: {e}")
            return
        cell.findings += 1
        cell.invariants.add(entry.invariant)
        try:
            path, created = save(entry, self.corpus)
        except (OSError, CorpusError) as e:
            # the race is kept in the report (with its timeline); the campaign goes on
            why = str(e) if isinstance(e, CorpusError) else f"cannot write to {self.corpus}: {e.strerror or e}"
            cell.errors.append(f"race {entry.name} not saved: {why}")
            summary.unsaved.append((entry, why))
            self.progress.say(f"race {entry.name} ({entry.invariant}) on {cell.row.scenario} "
                              f"{cell.row.label} NOT SAVED: {why}")
            return
        if created:
            cell.new.append(entry.name)
            summary.new_entries.append(entry)
            expected = {"clean": " -- EXPECTED CLEAN", "racy": ""}.get(cell.row.expect, "")
            self.progress.say(f"new race {path} ({entry.invariant}) on {cell.row.scenario} "
                              f"{cell.row.label}{expected}")
        elif entry.name not in cell.known:
            cell.known.append(entry.name)

    # -- the loop -------------------------------------------------------------------
    def run(self) -> Summary:
        try:
            before = len(signatures(self.corpus))
        except OSError:  # an unreadable corpus folder: saving will say so, per race
            before = 0
        summary = Summary(list(self.cells.values()), self.seconds, self.backend.describe(),
                          str(self.corpus), corpus_before=before)
        start = time.monotonic()
        deadline = start + self.seconds
        pending: dict = {}  # future -> spec
        stop = _Stop()
        try:
            stop.__enter__()
            while True:
                if stop.requested:
                    raise KeyboardInterrupt
                now = time.monotonic()
                summary.elapsed, summary.running = now - start, len(pending)
                if now < deadline:
                    while len(pending) < self.backend.slots and deadline - now > 0.5:
                        spec = self.next_spec(deadline - now)
                        pending[self.backend.submit(spec)] = spec
                        now = time.monotonic()
                elif not pending:
                    break
                elif now > deadline + self.grace:
                    summary.interrupted = f"{len(pending)} shards still running {self.grace:.0f}s after the deadline were cancelled"
                    break
                for fut in self.backend.wait(pending, timeout=0.5):
                    self.take(self.backend.outcome(fut, pending.pop(fut)), summary)
                summary.elapsed, summary.running = time.monotonic() - start, len(pending)
                self.progress.update(summary)
        except KeyboardInterrupt:
            summary.interrupted = "interrupted"
            # shards that finished meanwhile still count; the rest are lost work, not lost races
            for fut in self.backend.finished(pending):
                self.take(self.backend.outcome(fut, pending.pop(fut)), summary)
        except Exception as e:  # noqa: BLE001  (a lost scheduler: keep what came back, report)
            summary.lost = f"{type(e).__name__}: {e}".strip()
            summary.interrupted = f"stopped: the backend failed ({summary.lost.splitlines()[0]})"
            self.progress.say(f"mmfuzz campaign: {summary.interrupted}")
        finally:
            stop.__exit__()
            self.backend.cancel(pending)
        summary.elapsed, summary.running = time.monotonic() - start, 0
        self.progress.done(summary)
        return summary


class _Stop:
    """Ctrl-C and SIGTERM (a CI timeout, a scheduler's kill) stop the campaign alike.

    The handler raises KeyboardInterrupt to cut the running shard short, and also sets
    a flag the loop checks: Python drops an exception raised inside a gc callback or a
    __del__, and a swallowed interrupt must still end the campaign after that shard.
    """

    def __init__(self):
        self.requested = False
        self.old = {}

    def _handler(self, signum, frame):
        self.requested = True
        raise KeyboardInterrupt

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, old in self.old.items():
            signal.signal(sig, old)


__all__ = ["Campaign", "Cell", "Summary", "Entry"]

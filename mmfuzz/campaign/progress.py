"""The live progress line of a campaign, on stderr.

On a terminal one line is redrawn twice a second; in a log (CI, nohup) a line is
printed every 10 s, so a night's log stays readable.
"""

from __future__ import annotations

import sys
import time


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    def __init__(self, budget: float, stream=None, quiet: bool = False):
        self.budget = budget
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = 0.5 if self.tty else 10.0
        self.quiet = quiet
        self.last = 0.0

    def line(self, s) -> str:
        rate = s.steps / s.elapsed if s.elapsed > 0 else 0
        return (f"[{clock(s.elapsed)}/{clock(self.budget)}] {s.examples:,} examples, "
                f"{rate:,.0f} steps/s, {s.findings} findings ({s.new} new, {s.duplicates} known), "
                f"{s.running} shards running" + (f", {s.errors} errors" if s.errors else ""))

    def update(self, summary, force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (not force and now - self.last < self.every):
            return
        self.last = now
        if self.tty:
            self.stream.write("\r\x1b[K" + self.line(summary))
        else:
            self.stream.write(self.line(summary) + "\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        if self.quiet:
            return
        self.stream.write(("\r\x1b[K" if self.tty else "") + text + "\n")
        self.stream.flush()

    def done(self, summary) -> None:
        self.update(summary, force=True)
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()

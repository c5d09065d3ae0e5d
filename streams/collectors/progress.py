"""Progress on long work: a live line on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(
        self,
        label: str,
        total: int | None = None,
        stream: TextIO = sys.stderr,
        every_s: float | None = None,
    ) -> None:
        self.label, self.total, self.stream = label, total, stream
        self.live = stream.isatty()
        self.every_s = every_s if every_s is not None else (0.5 if self.live else 5.0)
        self.started = self.shown = time.monotonic()
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.shown >= self.every_s:
            self.shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        rate = self.done / max(now - self.started, 1e-9)
        text = f"{self.label}: {self.done:,}"
        if self.total:
            left = (self.total - self.done) / rate if rate else 0.0
            text += f"/{self.total:,} ({100 * self.done / self.total:.0f}%) {rate:,.0f}/s, {left:,.0f}s left"
        else:
            text += f" ({rate:,.0f}/s)"
        if self.live:
            self.stream.write("\r\x1b[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> float:
        seconds = time.monotonic() - self.started
        if self.live:
            self.stream.write("\r\x1b[K")
        self.stream.flush()
        return seconds

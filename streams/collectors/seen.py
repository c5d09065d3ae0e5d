"""Mentions one collector process has published lately (id and a digest of the text), so that its
polling only fills the gaps its webhooks left: ``flarewatch collect webhooks`` marks what Meta
pushed and what the polls found, and each side skips a mention the other already published with
the same text, instead of publishing it a second time (the search index would take a copy once,
but the detector would count it twice). An edit (same id, new text) still goes out.

Kept for ``window`` (the polls' lookback) and saved in the state folder at most once a minute, so
after a crash at most that minute's ids can go out twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from streams.collectors.checkpoints import write_atomically
from streams.collectors.source import utc_now
from streams.contracts.records import RawMention

log = logging.getLogger("flarewatch.collect")
SAVE_EVERY_S = 60.0


class SeenIds:
    def __init__(self, window: timedelta, state: Path | None = None) -> None:
        self.window = window
        self.state = state
        self._ids: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._saved_at = -SAVE_EVERY_S
        if state is not None and state.exists():
            try:
                data = json.loads(state.read_text(encoding="utf-8"))
                self._ids = {str(k): (float(t), str(d)) for k, (t, d) in data["ids"].items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning("published ids %s unreadable (%s); starting with none", state, exc)

    def knows(self, mention: RawMention) -> bool:
        """Published already, with this text."""
        with self._lock:
            found = self._ids.get(mention.mention_id)
        return found is not None and found[1] == _digest(mention.text)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, mentions: Iterable[RawMention], now: datetime | None = None) -> None:
        at = (now or utc_now()).timestamp()
        cutoff = at - self.window.total_seconds()
        with self._lock:
            for mention in mentions:
                self._ids.pop(mention.mention_id, None)  # to the end: the dict stays oldest first
                self._ids[mention.mention_id] = (at, _digest(mention.text))
            if len(self._ids) > 1024 and next(iter(self._ids.values()))[0] < cutoff:
                self._ids = {k: v for k, v in self._ids.items() if v[0] >= cutoff}

    def save(self, force: bool = False) -> None:
        if self.state is None:
            return
        now = time.monotonic()
        if not force and now - self._saved_at < SAVE_EVERY_S:
            return
        with self._lock:
            text = json.dumps({"ids": {k: list(v) for k, v in self._ids.items()}})
            self._saved_at = now
        write_atomically(self.state, text)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()

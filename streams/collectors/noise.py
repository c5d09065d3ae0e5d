"""Noise screening in the collectors: spam (link spam, giveaways, the brand's own ads) and copies
of earlier mentions (reposts, copy-paste campaigns; the brand's own posts, whose template replies
repeat by design, are not looked at), each dropped with a counted reason, flagged,
or left alone, as ``collectors.noise`` says.

One screen serves every source of a process (a campaign spans pages and searches); the duplicate
index is kept in the state folder between runs (``noise.json``), so a copy after a restart is
still known as one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

from models.noise.duplicates import DuplicateIndex
from models.noise.spam import SpamRules
from streams.collectors.checkpoints import write_atomically
from streams.config.collectors import NoiseSettings
from streams.contracts.records import RawMention

log = logging.getLogger("flarewatch.collect")
SAVE_EVERY_S = 60.0


class NoiseScreen:
    def __init__(self, settings: NoiseSettings, state: Path | None = None) -> None:
        self.settings = settings
        self.spam = SpamRules()
        self.state = state
        self._lock = threading.Lock()
        self._saved_at = -SAVE_EVERY_S
        self.duplicates = self._load(timedelta(hours=settings.duplicate_window_hours))

    def _load(self, window: timedelta) -> DuplicateIndex:
        if self.state is None or not self.state.exists():
            return DuplicateIndex(window)
        try:
            return DuplicateIndex.from_json(json.loads(self.state.read_text(encoding="utf-8")), window=window)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("duplicate index %s unreadable (%s); starting an empty one", self.state, exc)
            return DuplicateIndex(window)

    def __call__(self, mention: RawMention) -> tuple[RawMention | None, str | None]:
        """The mention to publish (flagged when noise is flagged), or None and why it is dropped."""
        s = self.settings
        flags: list[str] = []
        if s.spam != "keep":
            reason = self.spam.reason(mention.text, author=mention.author.name, from_brand=mention.from_brand)
            if reason is not None:
                if s.spam == "drop":
                    return None, f"spam:{reason}"
                flags.append(f"spam:{reason}")
        update: dict[str, object] = {}
        if s.duplicates != "keep" and not mention.from_brand and mention.text.strip():
            with self._lock:
                copy = self.duplicates.check(
                    mention.mention_id, mention.brand, mention.text, mention.created_at
                )
            if copy is not None and copy.original_id != mention.mention_id:
                if s.duplicates == "drop":
                    return None, "duplicate"
                update = {"duplicate_of": copy.original_id, "copies": copy.copies}
        if flags:
            update["noise"] = tuple(flags)
        return (mention.model_copy(update=update) if update else mention), None

    def save(self, force: bool = False) -> None:
        """Write the duplicate index to the state file, at most every ``SAVE_EVERY_S`` unless
        ``force`` (it may hold 100,000 mentions, ~34 MB): a crash forgets at most that long of
        copies, which then count as originals."""
        if self.state is None:
            return
        now = time.monotonic()
        if not force and now - self._saved_at < SAVE_EVERY_S:
            return
        with self._lock:
            text = json.dumps(self.duplicates.to_json())
            self._saved_at = now
        write_atomically(self.state, text)

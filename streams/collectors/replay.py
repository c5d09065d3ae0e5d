"""Replay a mention file into the raw topic with kafka-python: paced, with progress and a
checkpoint, so running it again sends nothing twice.

The checkpoint is tied to the file's digest, the topic and the broker's cluster id. Lines are
counted as sent only after ``flush()`` returns, that is after the broker acknowledged them
(``acks=all``); a crash re-sends at most the unflushed tail, which downstream writes overwrite
by id. A stop request is honoured between lines: what was sent is flushed and checkpointed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.errors import MessageSizeTooLargeError

from streams.collectors.files import Line, count_lines, read
from streams.collectors.progress import Progress

FLUSH_EVERY = 500


@dataclass(frozen=True, slots=True)
class Pace:
    """``per_second`` caps the rate; ``speedup`` follows the original timestamps, sped up."""

    per_second: float | None = None
    speedup: float | None = None

    def __post_init__(self) -> None:
        if self.per_second is not None and self.speedup is not None:
            raise ValueError("choose a rate or a speed-up, not both")
        if (self.per_second is not None and self.per_second <= 0) or (
            self.speedup is not None and self.speedup <= 0
        ):
            raise ValueError("rate and speed-up must be positive")


@dataclass(frozen=True, slots=True)
class ReplayReport:
    lines: int
    sent: int
    skipped: int
    """Already sent by an earlier run (checkpoint)."""
    too_large: int
    seconds: float
    stopped: bool = False
    """Ended early by a stop request; the checkpoint covers what was sent."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    path: Path
    identity: dict[str, str]

    def load(self) -> int:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return 0
        return int(data.get("sent", 0)) if data.get("identity") == self.identity else 0

    def save(self, sent: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "identity": self.identity,
                    "sent": sent,
                    "updated_at": datetime.now().astimezone().isoformat(),
                }
            )
        )
        os.replace(tmp, self.path)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Stop(Protocol):
    """What ends a replay early: a ``threading.Event``, or a stop request set by a signal."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool:
        """Pause up to ``timeout`` seconds, less when stopped; whether stopped."""
        ...


class Replay:
    def __init__(
        self,
        producer_config: dict[str, Any],
        topic: str,
        cluster_id: str,
        log: Callable[[str], None] = lambda _: None,
        progress: bool = True,
        stop: Stop | None = None,
    ) -> None:
        """``stop``, when set, ends :meth:`run` after the line being sent (pacing waits end
        at once)."""
        self.producer = KafkaProducer(
            acks="all",
            linger_ms=5,
            max_request_size=1 << 20,
            client_id="flarewatch-replay",
            **producer_config,
        )
        self.topic = topic
        self.cluster_id = cluster_id
        self.log = log
        self.show_progress = progress
        self.stop: Stop = stop or threading.Event()

    def close(self) -> None:
        self.producer.close()

    def run(
        self,
        path: Path,
        checkpoint_path: Path,
        pace: Pace = Pace(),
        on_sent: Callable[[int], None] = lambda _: None,
    ) -> ReplayReport:
        """Blocks until every line is sent and acknowledged, or a stop is requested;
        ``on_sent`` gets running totals."""
        identity = {"file": file_digest(path), "topic": self.topic, "cluster": self.cluster_id}
        checkpoint = Checkpoint(checkpoint_path, identity)
        done = checkpoint.load()
        total = count_lines(path)
        if done:
            self.log(f"checkpoint: {done} of {total} lines already sent to {self.topic}")
        progress = Progress(f"replaying {path.name}", total, every_s=None if self.show_progress else 1e9)
        progress.advance(done)
        clock = _Clock(pace, self.stop.wait)  # a stop request ends a pause at once
        sent = too_large = 0
        last, stopped = done, False
        for position, line in enumerate(read(path), 1):
            if position <= done:
                continue
            clock.wait(line)
            if self.stop.is_set():
                stopped = True
                break
            too_large += self._send(line)
            sent, last = sent + 1, position
            progress.advance()
            on_sent(done + sent)
            if sent % FLUSH_EVERY == 0:
                self.producer.flush()
                checkpoint.save(last)
        self.producer.flush()
        checkpoint.save(last)
        return ReplayReport(total, sent, done, too_large, progress.finish(), stopped)

    def _send(self, line: Line) -> int:
        try:
            self.producer.send(self.topic, key=line.key, value=line.value)
        except MessageSizeTooLargeError:
            self.log(f"line {line.number}: {len(line.value)} bytes is more than the broker accepts; skipped")
            return 1
        return 0


class _Clock:
    def __init__(self, pace: Pace, sleep: Callable[[float], object]) -> None:
        self.pace, self.sleep = pace, sleep
        self.started = time.monotonic()
        self.count = 0
        self.first: datetime | None = None

    def wait(self, line: Line) -> None:
        self.count += 1
        if self.pace.per_second:
            due = self.started + (self.count - 1) / self.pace.per_second
        elif self.pace.speedup and line.created_at is not None:
            self.first = self.first or line.created_at
            due = self.started + (line.created_at - self.first).total_seconds() / self.pace.speedup
        else:
            return
        delay = due - time.monotonic()
        if delay > 0:
            self.sleep(delay)

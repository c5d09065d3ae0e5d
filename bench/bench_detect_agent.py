"""The detect step during a flare-up: events per second for one brand, and bytes written per event.

    .venv/bin/python bench/bench_detect_agent.py [--per-hour 5000] [--hours 1] [--history-days 7]

In-process, over dict tables that count what a changelog would carry: each write as its JSON key
and value, each delete as a tombstone (the key). First ``--history-days`` of ordinary traffic (30
complaints an hour, not timed) warm the detector up; then one brand receives ``--per-hour``
customer complaints an hour for ``--hours`` (timed: decode, count, progress, bucket closes and
the real :class:`models.detection.SeriesDetector`). Prints events/s, microseconds per event and
bytes written per event, split into the per-event records (bucket and progress) and the bucket
closes (series records and bucket tombstones, amortised); and the largest record written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.detection import DetectorConfig, SeriesDetector
from streams.contracts.codec import encode
from streams.contracts.records import Author, Platform, RawMention, ScoredMention, Scores
from streams.worker.messages import Incoming
from streams.worker.steps.detect import DetectRules, DetectStep

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
CATEGORIES = ("payment", "delivery", "refund")


class Changelog(dict[str, Any]):
    """A table that counts the bytes a changelog would carry."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0
        self.writes = 0
        self.largest = 0

    def __setitem__(self, key: str, value: Any) -> None:
        size = len(json.dumps(key)) + len(json.dumps(value, separators=(",", ":")))
        self.bytes += size
        self.writes += 1
        self.largest = max(self.largest, size)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.bytes += len(json.dumps(key))
        self.writes += 1
        super().__delitem__(key)

    def reset(self) -> None:
        self.bytes = self.writes = self.largest = 0


def complaint(n: int, at: datetime, category: str) -> bytes:
    mention = RawMention(
        platform=Platform.X,
        native_id=f"m{n}",
        brand="zakupowo",
        author=Author(id=f"u{n % 5000}", followers=(n * 7919) % 200_000),
        text="BLIK nie działa, nie mogę zapłacić",
        created_at=at,
    )
    scores = Scores(
        lang="pl",
        sentiment="negative",
        sentiment_scores={"negative": 0.9, "neutral": 0.07, "positive": 0.03},
        complaint=True,
        complaint_score=0.95,
        category=category,
        model="bench:1",
    )
    return encode(ScoredMention(mention=mention, scores=scores, scored_at=at + timedelta(seconds=2)))


def stream(start: datetime, hours: float, per_hour: float, first: int) -> list[bytes]:
    count = int(hours * per_hour)
    step = 3600.0 / per_hour
    return [
        complaint(first + i, start + timedelta(seconds=i * step), CATEGORIES[i % len(CATEGORIES)])
        for i in range(count)
    ]


@dataclass
class Tables:
    buckets: Changelog
    progress: Changelog
    series: Changelog

    def all(self) -> tuple[Changelog, ...]:
        return self.buckets, self.progress, self.series


def run(step: DetectStep, values: list[bytes], first_offset: int) -> None:
    for i, value in enumerate(values):
        step.run([Incoming(value, b"zakupowo", "bench", 0, first_offset + i)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-hour", type=float, default=5000)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--history-days", type=float, default=7.0)
    args = parser.parse_args()

    config = DetectorConfig()
    rules = DetectRules(bucket_seconds=config.bucket_seconds, lateness_seconds=600)
    t = Tables(Changelog(), Changelog(), Changelog())
    step = DetectStep(rules, lambda state: SeriesDetector(config, state), t.buckets, t.progress, t.series)

    history = stream(T0, 24 * args.history_days, 30, 0)
    run(step, history, 0)
    flare_start = T0 + timedelta(days=args.history_days)
    flare = stream(flare_start, args.hours, args.per_hour, len(history))
    flare += stream(flare_start + timedelta(hours=args.hours), 0.5, 30, len(history) + len(flare))
    for table in t.all():
        table.reset()

    started = time.perf_counter()
    run(step, flare, len(history))
    seconds = time.perf_counter() - started

    n = len(flare)
    hot = t.buckets.bytes + t.progress.bytes
    per_event_writes = (t.buckets.writes + t.progress.writes) / n
    print(f"detect step, one brand, {args.per_hour:,.0f} complaints an hour, {args.hours:g} h: {n:,} events")
    print(f"  events/s                {n / seconds:>12,.0f}")
    print(f"  us per event            {1e6 * seconds / n:>12,.1f}")
    print(f"  bytes written per event {(hot + t.series.bytes) / n:>12,.1f}")
    print(f"    bucket + progress     {hot / n:>12,.1f}  ({per_event_writes:.2f} writes per event)")
    print(f"    bucket closes         {t.series.bytes / n:>12,.1f}  ({t.series.writes:,} series writes)")
    print(f"  largest record written {max(x.largest for x in t.all()):>12,} bytes")
    print(f"  series record size      {max(len(json.dumps(v)) for v in t.series.values()):>12,} bytes")


if __name__ == "__main__":
    main()

"""The detect step: customers' scored mentions in (repartitioned by brand), per brand and bucket
counts kept in tables, flare signals out when buckets close. No Kafka and no Faust here: the
tables are ``MutableMapping``s (Faust tables in the worker, dicts in tests).

Per event the step reads and writes one small record, ``buckets[f"{brand}|{bucket_start}"]``
(:class:`~streams.worker.steps.detector_state.BucketCounts`), and its partition's progress,
``progress[str(partition)]``: ``{"offset", "max_time", "closed"}``.

- Redeliveries: a message at or below the partition's last applied offset was already applied
  (the tables were restored from their changelogs after a restart): skipped and counted, with no
  id set to grow.
- Event time: the partition's watermark is its newest mention's time minus the allowed lateness.
  A bucket closes when the watermark passes its end; a mention whose bucket has already closed is
  late: counted as such, not applied.
- Closing: for every brand with state on the partition (``progress[f"{partition}|brands"]``,
  written only when a brand first appears), each of its series (brand-wide, and one per complaint
  category seen) gets the closed buckets in order, in its detector (``series[f"{brand}|all"]``,
  ``series[f"{brand}|{category}"]``); the bucket records are deleted once used. A bucket in which
  the brand received nothing at all is a gap (a collector down), unless the brand is quiet: fewer
  than one customer mention per bucket on average over the last hours (an exponentially weighted
  average, half-life 6 h, empty buckets included), then it is a zero. So a busy brand's outage
  reads as a gap for hours (at 2 mentions a bucket, 6 h; at 20, a day) and a quiet brand's empty
  buckets are the zeros they are. A bucket in which the
  brand had customer mentions but none that a series counts is a zero for that series.
- Signals: a verdict that starts, escalates or ends a flare, and a flaring bucket above the flare's
  peak so far (``grown``), become :class:`~streams.contracts.incidents.FlareSignal` records.

Series measure: the brand-wide series counts ``measure`` (customers' complaints or negative
mentions), reach-weighted when weighting is on; a category series counts the same mentions that
carry that complaint category. Languages and sample ids are the brand-wide bucket's.

All of a brand's state lives in one partition, and Faust writes each table change to the
changelog partition of the event being processed, so everything here must run inside the
processing of an event of that partition (it does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from streams.contracts.codec import Invalid, decode, parse_object
from streams.contracts.incidents import FlareSignal, Measure, Severity, SignalKind
from streams.contracts.records import ScoredMention, Stage
from streams.worker.messages import Failed, Incoming, error_reason, failed
from streams.worker.steps.detector_state import BucketCounts, SeriesRecord

log = logging.getLogger("flarewatch.worker")
Table = MutableMapping[str, Any]
ALL = "all"
"""The brand-wide series' name in keys and signal ids."""


class Verdict(Protocol):
    """What :class:`models.detection.BucketVerdict` gives (only what this step reads)."""

    @property
    def value(self) -> float | None: ...
    @property
    def expected(self) -> float: ...
    @property
    def score(self) -> float: ...
    @property
    def state(self) -> str: ...
    @property
    def event(self) -> Literal["started", "escalated", "ended"] | None: ...
    @property
    def severity(self) -> Severity | None: ...
    @property
    def flare_start(self) -> int | None: ...
    @property
    def peak(self) -> float: ...


class Series(Protocol):
    """:class:`models.detection.SeriesDetector`, as this step uses it."""

    def observe(self, bucket_start: int, value: float | None) -> Verdict:
        """Feed buckets in increasing order; a skipped bucket is a gap."""
        ...

    def to_json(self) -> dict[str, Any]: ...

    @property
    def last_bucket(self) -> int | None: ...


SeriesFactory = Callable[[dict[str, Any] | None], Series]
"""A series' detector from its stored JSON (None: a new series)."""


@dataclass(frozen=True, slots=True)
class DetectRules:
    bucket_seconds: int = 300
    lateness_seconds: int = 600
    reach_weighting: bool = False
    measure: Measure = "complaints"
    catch_up_seconds: int = 7 * 86400
    """When the watermark jumps further than this (a replay after days down, a mention dated years
    back), only the last stretch this long is fed bucket by bucket; before it, only the buckets that
    hold counts (the others are gaps), found by one scan of the bucket table."""

    def counts(self, scored: ScoredMention) -> bool:
        """Whether the mention counts for the series (a customer's, of the measure)."""
        if self.measure == "complaints":
            return scored.scores.complaint
        return scored.scores.sentiment == "negative"


def detector_key(value: bytes | None) -> bytes | None:
    """The brand, as the partition key, of what looks like a customer's scored mention (the
    detector's input: it counts every customer mention, for the brand's volume); None for anything
    else, and for a copy of an earlier mention or one flagged as noise: a complaint copied 500
    times is one complaint with 500 copies, not a flare-up. A cheap look at the JSON to route
    messages by brand, not a validation (:class:`DetectStep` validates what it routes); never
    raises."""
    record = parse_object(value)
    if isinstance(record, Invalid):
        return None
    mention, scores = record.get("mention"), record.get("scores")
    if not isinstance(mention, dict) or not isinstance(scores, dict) or mention.get("from_brand") is True:
        return None
    if mention.get("duplicate_of") or mention.get("noise"):
        return None
    brand = mention.get("brand")
    return brand.encode("utf-8", "backslashreplace") if isinstance(brand, str) else None


@dataclass(slots=True)
class DetectOutput:
    signals: list[FlareSignal] = field(default_factory=list)
    counted: int = 0
    """Customer mentions added to their bucket."""
    late: int = 0
    """Mentions whose bucket had already closed (not counted)."""
    redelivered: int = 0
    """Mentions at or below the partition's last applied offset (already counted)."""
    closed: int = 0
    """Brand buckets closed and fed to the detectors."""
    errors: list[str] = field(default_factory=list)
    """Brands whose buckets could not be closed (their state left as it was; retried next close)."""
    dead: list[Failed] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    """Per message: not dead-lettered (for the dead-letter limit)."""


@dataclass(slots=True)
class Progress:
    offset: int = -1
    max_time: float | None = None
    closed: int | None = None
    """Buckets starting before this are closed."""

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Progress:
        if not data:
            return cls()
        return cls(int(data["offset"]), data.get("max_time"), data.get("closed"))

    def to_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "max_time": self.max_time, "closed": self.closed}


class DetectStep:
    """``run`` does not block and never raises an ``Exception``: a message that is not a scored
    mention is skipped (the index step dead-letters it), a brand's own mention is ignored, and one
    whose counting raises is dead-lettered with stage ``detect`` (its bucket left as it was). A
    brand whose bucket close raises is reported in ``errors`` and left for the next close."""

    def __init__(
        self, rules: DetectRules, series: SeriesFactory, buckets: Table, progress: Table, detectors: Table
    ) -> None:
        self.rules = rules
        self.new_series = series
        self.buckets = buckets
        self.progress = progress
        self.detectors = detectors

    def run(self, batch: Sequence[Incoming]) -> DetectOutput:
        out = DetectOutput()
        for message in batch:
            scored = decode(ScoredMention, message.value, message.partition, message.offset)
            if isinstance(scored, Invalid) or scored.mention.from_brand:
                out.valid.append(True)
                continue
            try:
                self._observe(message, scored, out)
            except Exception as exc:
                out.dead.append(failed(message, error_reason("detection", exc), Stage.DETECT))
                out.valid.append(False)
                continue
            out.valid.append(True)
        return out

    def _observe(self, message: Incoming, scored: ScoredMention, out: DetectOutput) -> None:
        key = str(message.partition)
        progress = Progress.from_json(self.progress.get(key))
        if message.offset <= progress.offset:
            out.redelivered += 1
            return
        bs = self.rules.bucket_seconds
        at = scored.mention.created_at.timestamp()
        bucket = int(at // bs) * bs
        if progress.closed is not None and bucket < progress.closed:
            out.late += 1
        else:
            self._count(scored, bucket, message.partition)
            out.counted += 1
        progress.offset = message.offset
        progress.max_time = max(at, progress.max_time or at)
        closed = int((progress.max_time - self.rules.lateness_seconds) // bs) * bs
        if progress.closed is None:
            progress.closed = closed
        elif closed > progress.closed:
            self._close(message.partition, closed, out)
            progress.closed = closed
        self.progress[key] = progress.to_json()

    def _count(self, scored: ScoredMention, bucket: int, partition: int) -> None:
        brand = scored.mention.brand
        key = f"{brand}|{bucket}"
        counts = BucketCounts.from_json(self.buckets.get(key))
        counts.add(scored, self.rules.counts(scored), self.rules.reach_weighting)
        self.buckets[key] = counts.to_json()
        brands_key = f"{partition}|brands"
        brands: dict[str, int] = self.progress.get(brands_key) or {}
        if brand not in brands or bucket < brands[brand]:  # new, or still warming up out of order
            self.progress[brands_key] = {**brands, brand: bucket}

    def _close(self, partition: int, end: int, out: DetectOutput) -> None:
        brands: dict[str, int] = self.progress.get(f"{partition}|brands") or {}
        stored = _Stored(self.buckets)
        for brand, first in sorted(brands.items()):
            try:
                closed, signals = self._close_brand(brand, int(first), end, stored)
            except Exception as exc:
                out.errors.append(f"{brand}: {error_reason('closing buckets', exc)}")
                continue
            out.closed += closed
            out.signals += signals

    def _close_brand(
        self, brand: str, first: int, end: int, stored: _Stored
    ) -> tuple[int, list[FlareSignal]]:
        """Feeds the brand's buckets from the first one not yet fed up to ``end`` (excluded)."""
        bs = self.rules.bucket_seconds
        main = _Feed(self, brand, None)
        last = main.detector.last_bucket
        start = first if last is None else last + bs
        if start >= end:
            return 0, []
        feeds = {c: _Feed(self, brand, c) for c in main.record.categories}
        signals: list[FlareSignal] = []
        tail = max(start, end - self.rules.catch_up_seconds // bs * bs)
        early = [b for b in stored.of(brand) if start <= b < tail] if tail > start else []
        closing = [*early, *range(tail, end, bs)]
        used: list[str] = []
        for bucket in closing:
            record = self.buckets.get(f"{brand}|{bucket}")
            counts = BucketCounts.from_json(record) if record is not None else None
            main.record.observe_volume(counts.mentions if counts else 0, bs)
            empty: float | None = 0.0 if main.record.quiet() else None
            for category in counts.categories if counts else ():
                if category not in feeds and category != ALL:
                    feeds[category] = _Feed(self, brand, category)
                    main.record.categories.append(category)
            for feed in [main, *feeds.values()]:
                signal = feed.observe(bucket, counts, empty)
                signals += [signal] if signal is not None else []
            used += [f"{brand}|{bucket}"] if record is not None else []
        for feed in [main, *feeds.values()]:
            feed.save()
        for key in used:  # only once the detectors are saved: a close that raised is retried whole
            del self.buckets[key]
        return len(closing), signals


class _Stored:
    """Which buckets hold counts, per brand: one scan of the bucket table, only when needed (a
    watermark jump longer than the catch-up)."""

    def __init__(self, buckets: Table) -> None:
        self.buckets = buckets
        self.index: dict[str, list[int]] | None = None

    def of(self, brand: str) -> list[int]:
        if self.index is None:
            self.index = {}
            for key in list(self.buckets.keys()):
                name, _, bucket = key.rpartition("|")
                self.index.setdefault(name, []).append(int(bucket))
        return sorted(self.index.get(brand, ()))


class _Feed:
    """One series of one brand while buckets close: loaded once, fed in order, saved once."""

    def __init__(self, step: DetectStep, brand: str, category: str | None) -> None:
        self.step, self.brand, self.category = step, brand, category
        self.key = f"{brand}|{category or ALL}"
        self.record = SeriesRecord.from_json(step.detectors.get(self.key))
        try:
            self.detector = step.new_series(self.record.detector)
        except ValueError as exc:  # stored by another version, or for another bucket width
            log.warning("detector state of %s not usable (%s): the series starts over", self.key, exc)
            self.detector = step.new_series(None)
            self.record.peak = 0.0

    def observe(self, bucket: int, counts: BucketCounts | None, empty: float | None) -> FlareSignal | None:
        rules = self.step.rules
        last = self.detector.last_bucket
        if last is not None and bucket <= last:  # fed already (another series of the brand restarted)
            return None
        value = counts.value(self.category, rules.reach_weighting) if counts is not None else empty
        verdict = self.detector.observe(bucket, value)
        kind = _kind(verdict, self.record.peak)
        self.record.peak = (
            verdict.peak if verdict.flare_start is not None and kind != SignalKind.ENDED else 0.0
        )
        if kind is None:
            return None
        return _signal(self.brand, self.category, rules, bucket, kind, verdict, counts)

    def save(self) -> None:
        self.record.detector = self.detector.to_json()
        self.step.detectors[self.key] = self.record.to_json()


def _kind(verdict: Verdict, peak: float) -> SignalKind | None:
    if verdict.event is not None:
        return SignalKind(verdict.event)
    if verdict.state == "flaring" and verdict.value is not None and verdict.value > peak:
        return SignalKind.GROWN
    return None


def _signal(
    brand: str,
    category: str | None,
    rules: DetectRules,
    bucket: int,
    kind: SignalKind,
    verdict: Verdict,
    counts: BucketCounts | None,
) -> FlareSignal:
    at = datetime.fromtimestamp(bucket, UTC)
    if counts is None:
        counts = BucketCounts()
    categories = counts.categories if category is None else {category: counts.categories.get(category, 0)}
    return FlareSignal(
        signal_id=f"{brand}:{category or ALL}:{rules.measure}:{at:%Y%m%dT%H%MZ}:{kind.value}",
        brand=brand,
        category=category,
        measure=rules.measure,
        kind=kind,
        flare_started_at=datetime.fromtimestamp(_or(verdict.flare_start, bucket), UTC),
        bucket_start=at,
        bucket_seconds=rules.bucket_seconds,
        severity=None if kind is SignalKind.ENDED else verdict.severity,
        observed=round(verdict.value or 0.0, 3),
        mentions=counts.raw(category),
        expected=round(verdict.expected, 3),
        score=round(verdict.score, 3),
        peak=round(verdict.peak, 3),
        languages=counts.languages,
        categories=categories,
        sample_mention_ids=counts.samples(),
    )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value

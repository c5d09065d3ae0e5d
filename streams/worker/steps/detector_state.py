"""The detect step's state records, as the tables keep them (small JSON objects).

- :class:`BucketCounts`: one brand's customer mentions in one bucket (``detector-buckets``). One
  event reads and rewrites one of these; its size is bounded (a few hundred bytes): counters, the
  categories and languages seen (small closed sets), and at most 3 + 3 sample ids.
- :class:`SeriesRecord`: one series' detector state (``detector-series``), touched once per closed
  bucket. The brand-wide record also holds the brand's volume (for telling gaps from quiet
  buckets) and the complaint categories it has seen.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

from streams.contracts.records import ScoredMention

SAMPLES = 3
"""Sample ids kept per bucket for each of: the most reached, the most negative."""
QUIET_BELOW = 1.0
"""A brand whose volume (customer mentions per bucket, recent average) is below this is quiet:
a bucket in which it received nothing is a zero, not a gap."""
VOLUME_HALF_LIFE_S = 6 * 3600.0
"""How fast the volume forgets: an exponentially weighted average with this half-life, empty
buckets included (long enough that a busy brand's collector outage is not taken for quiet)."""


def reach_weight(followers: int | None) -> float:
    """How much a mention counts with reach weighting: ``1 + log10(1 + followers / 1000)``.

    1 for an unknown or small account (1.0 at 0 followers, 1.04 at 100), about 2 at 9,000
    followers, 3.7 at 500,000: a big account counts more, never as much as a crowd."""
    return 1.0 + math.log10(1.0 + (followers or 0) / 1000.0)


@dataclass(slots=True)
class BucketCounts:
    """What one bucket holds. ``counted`` is the measure (negative mentions or complaints)."""

    mentions: int = 0
    """Every customer mention (scored or not)."""
    negative: int = 0
    complaints: int = 0
    counted: int = 0
    weighted: float = 0.0
    """The measure, reach-weighted (kept only with reach weighting on)."""
    categories: dict[str, int] = field(default_factory=dict)
    """Counted mentions per complaint category."""
    weighted_categories: dict[str, float] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    """Counted mentions per language."""
    reached: list[tuple[int, str]] = field(default_factory=list)
    """(followers, mention id) of the most reached counted mentions, highest first."""
    most_negative: list[tuple[float, str]] = field(default_factory=list)
    """(negative probability, mention id) of the most negative counted mentions, highest first."""

    def add(self, scored: ScoredMention, counted: bool, weighting: bool) -> None:
        s, m = scored.scores, scored.mention
        self.mentions += 1
        self.negative += s.sentiment == "negative"
        self.complaints += s.complaint
        if not counted:
            return
        weight = reach_weight(m.author.followers) if weighting else 1.0
        self.counted += 1
        self.weighted = round(self.weighted + weight, 3) if weighting else 0.0
        if s.category is not None:
            self.categories[s.category] = self.categories.get(s.category, 0) + 1
            if weighting:
                prior = self.weighted_categories.get(s.category, 0.0)
                self.weighted_categories[s.category] = round(prior + weight, 3)
        lang = s.lang or m.lang or "und"
        self.languages[lang] = self.languages.get(lang, 0) + 1
        self.reached = _top([*self.reached, (m.author.followers or 0, m.mention_id)])
        negative = round(s.sentiment_scores.get("negative", 0.0), 4)
        self.most_negative = _top([*self.most_negative, (negative, m.mention_id)])

    def value(self, category: str | None, weighting: bool) -> float:
        """The series' value for this bucket: brand-wide (None) or one category's."""
        if category is None:
            return self.weighted if weighting else float(self.counted)
        if weighting:
            return self.weighted_categories.get(category, 0.0)
        return float(self.categories.get(category, 0))

    def raw(self, category: str | None) -> int:
        return self.counted if category is None else self.categories.get(category, 0)

    def samples(self) -> tuple[str, ...]:
        """The most reached first, then the most negative; each id once."""
        ids = [i for _, i in self.reached] + [i for _, i in self.most_negative]
        return tuple(dict.fromkeys(ids))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "n": self.mentions,
            "neg": self.negative,
            "cmp": self.complaints,
            "c": self.counted,
            "cat": self.categories,
            "lang": self.languages,
            "reach": [list(r) for r in self.reached],
            "negs": [list(r) for r in self.most_negative],
        }
        if self.weighted:
            data |= {"w": self.weighted, "wcat": self.weighted_categories}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> BucketCounts:
        if not data:
            return cls()
        return cls(
            mentions=int(data["n"]),
            negative=int(data["neg"]),
            complaints=int(data["cmp"]),
            counted=int(data["c"]),
            weighted=float(data.get("w", 0.0)),
            categories={str(k): int(v) for k, v in data["cat"].items()},
            weighted_categories={str(k): float(v) for k, v in data.get("wcat", {}).items()},
            languages={str(k): int(v) for k, v in data["lang"].items()},
            reached=[(int(f), str(i)) for f, i in data["reach"]],
            most_negative=[(float(p), str(i)) for p, i in data["negs"]],
        )


def _top(items: list[Any]) -> list[Any]:
    return heapq.nlargest(SAMPLES, set(items))


@dataclass(slots=True)
class SeriesRecord:
    """A series' stored state: the detector's JSON and the peak of the flare it is in (0: none)."""

    detector: dict[str, Any] | None = None
    peak: float = 0.0
    volume: float | None = None
    """Brand-wide record only: customer mentions per bucket, recent average (None: no bucket yet)."""
    categories: list[str] = field(default_factory=list)
    """Brand-wide record only: the complaint categories seen, each with a series of its own."""

    def quiet(self) -> bool:
        return self.volume is None or self.volume < QUIET_BELOW

    def observe_volume(self, mentions: int, bucket_seconds: int) -> None:
        if self.volume is None:
            self.volume = float(mentions)
            return
        alpha = 1.0 - 0.5 ** (bucket_seconds / VOLUME_HALF_LIFE_S)
        self.volume = round(self.volume + alpha * (mentions - self.volume), 4)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"detector": self.detector, "peak": self.peak}
        if self.volume is not None or self.categories:
            data |= {"volume": self.volume, "categories": self.categories}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SeriesRecord:
        if not data:
            return cls()
        volume = data.get("volume")
        return cls(
            detector=data.get("detector"),
            peak=float(data.get("peak", 0.0)),
            volume=float(volume) if volume is not None else None,
            categories=[str(c) for c in data.get("categories", [])],
        )

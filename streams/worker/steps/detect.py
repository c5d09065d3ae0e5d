"""The detect step: customers' negative scored mentions in, per-brand spike windows updated, an
alert out when a window spikes (deterministic id: brand + window). No Kafka here."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.spikes import BrandSpikes, Spike, SpikeRule
from streams.config.detector import DetectorSettings
from streams.contracts.codec import Invalid, decode, parse_object
from streams.contracts.records import Alert, AlertKind, ScoredMention, Stage, utc_now
from streams.worker.messages import Failed, Incoming, error_reason, failed

SpikeState = MutableMapping[str, Any]
"""Brand -> its :class:`BrandSpikes` as JSON (a Faust table in the worker, a dict in tests)."""


def spike_rule(d: DetectorSettings) -> SpikeRule:
    return SpikeRule(
        window_seconds=d.window_minutes * 60,
        baseline_windows=d.baseline_windows,
        min_history=d.min_history,
        z=d.z,
        min_count=d.min_count,
        min_ratio=d.min_ratio,
    )


def alert_from(brand: str, spike: Spike) -> Alert:
    return Alert(
        alert_id=f"{brand}:{AlertKind.COMPLAINT_SPIKE.value}:{spike.window_start:%Y%m%dT%H%MZ}",
        kind=AlertKind.COMPLAINT_SPIKE,
        brand=brand,
        window_start=spike.window_start,
        window_end=spike.window_end,
        observed=spike.observed,
        baseline_mean=round(spike.baseline_mean, 3),
        baseline_std=round(spike.baseline_std, 3),
        threshold=round(spike.threshold, 3),
        score=round(spike.score, 3),
        top_categories=spike.top_categories,
        sample_mention_ids=spike.sample_ids,
        fired_at=utc_now(),
    )


def detector_key(value: bytes | None) -> bytes | None:
    """The brand, as the partition key, of what looks like a customer's negative scored mention
    (the detector's input); None for anything else. A cheap look at the JSON to route messages by
    brand, not a validation (:class:`DetectStep` validates what it routes); never raises."""
    record = parse_object(value)
    if isinstance(record, Invalid):
        return None
    mention, scores = record.get("mention"), record.get("scores")
    if not isinstance(mention, dict) or not isinstance(scores, dict):
        return None
    brand = mention.get("brand")
    if scores.get("sentiment") != "negative" or mention.get("from_brand") is True:
        return None
    return brand.encode("utf-8", "backslashreplace") if isinstance(brand, str) else None


@dataclass(slots=True)
class DetectOutput:
    alerts: list[Alert] = field(default_factory=list)
    observed: int = 0
    """Mentions the detector counted (customers' negative ones)."""
    dead: list[Failed] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    """Per message: not dead-lettered (for the dead-letter limit)."""


class DetectStep:
    """Counts customers' negative mentions per brand and window in ``state``; an alert the first
    time a window spikes. ``run`` does not block and never raises an ``Exception``: a message that
    is not a scored mention is skipped (the index step dead-letters it), one that is not a
    customer's negative mention is ignored, and one whose detection raises is dead-lettered with
    stage ``detect`` (its brand's state left as it was)."""

    def __init__(self, rule: SpikeRule, state: SpikeState) -> None:
        self.rule = rule
        self.state = state

    def run(self, batch: Sequence[Incoming]) -> DetectOutput:
        out = DetectOutput()
        for message in batch:
            scored = decode(ScoredMention, message.value, message.partition, message.offset)
            if isinstance(scored, Invalid) or not _counted(scored):
                out.valid.append(True)
                continue
            try:
                alert = self._observe(scored)
            except Exception as exc:
                out.dead.append(failed(message, error_reason("detection", exc), Stage.DETECT))
                out.valid.append(False)
                continue
            out.observed += 1
            out.alerts += [alert] if alert is not None else []
            out.valid.append(True)
        return out

    def _observe(self, scored: ScoredMention) -> Alert | None:
        m = scored.mention
        spikes = BrandSpikes.from_json(self.rule, self.state.get(m.brand))
        spike = spikes.observe(m.mention_id, m.created_at, scored.scores.category)
        alert = alert_from(m.brand, spike) if spike is not None else None
        self.state[m.brand] = spikes.to_json()
        return alert


def _counted(scored: ScoredMention) -> bool:
    return scored.scores.sentiment == "negative" and not scored.mention.from_brand

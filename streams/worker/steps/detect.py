"""Turning a detected spike into an alert record (deterministic id: brand + window)."""

from __future__ import annotations

from models.spikes import Spike, SpikeRule
from streams.config.settings import DetectorSettings
from streams.contracts.records import Alert, AlertKind, utc_now


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

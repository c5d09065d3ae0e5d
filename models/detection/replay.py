"""Offline replay: a whole series through one :class:`SeriesDetector`, its flares as records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.detection.config import SEVERITIES, DetectorConfig, Severity
from models.detection.detector import BucketVerdict, SeriesDetector


@dataclass(frozen=True, slots=True)
class Flare:
    start: int
    """First flaring bucket (epoch seconds)."""
    peak: int
    """The bucket with the highest count (the first of equals)."""
    end: int
    """Last flaring bucket: the one before the ``ended`` verdict, or the series' last flaring one."""
    severity: Severity
    """The highest reached."""
    peak_value: float
    expected_at_peak: float


def detect_series(points: Sequence[tuple[int, float | None]], config: DetectorConfig) -> list[Flare]:
    """Replay ``points`` (increasing, on the ``config.bucket_seconds`` grid; missing rows are
    gaps). Raises ``ValueError`` as :meth:`SeriesDetector.observe` does."""
    detector = SeriesDetector(config, None)
    flares: list[Flare] = []
    open_: list[BucketVerdict] = []
    for at, value in points:
        verdict = detector.observe(at, value)
        if verdict.state == "flaring":
            open_.append(verdict)
        elif verdict.event == "ended" and open_:
            flares.append(_flare(open_))
            open_ = []
    if open_:
        flares.append(_flare(open_))
    return flares


def _flare(verdicts: list[BucketVerdict]) -> Flare:
    top = max(verdicts, key=lambda v: v.value or 0.0)
    severity = max((SEVERITIES.index(v.severity) for v in verdicts if v.severity), default=0)
    return Flare(
        start=verdicts[0].bucket_start,
        peak=top.bucket_start,
        end=verdicts[-1].bucket_start,
        severity=SEVERITIES[severity],
        peak_value=top.value or 0.0,
        expected_at_peak=top.expected,
    )

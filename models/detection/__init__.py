"""Flare-up detection: per-series online detector, offline replay and its evaluation."""

from models.detection.config import SEVERITIES, DetectorConfig, Severity, Threshold
from models.detection.detector import BucketVerdict, SeriesDetector
from models.detection.replay import Flare, detect_series

__all__ = [
    "SEVERITIES",
    "BucketVerdict",
    "DetectorConfig",
    "Flare",
    "SeriesDetector",
    "Severity",
    "Threshold",
    "detect_series",
]

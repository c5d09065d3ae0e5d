"""The flare-up lifecycle: signals into incidents (open, escalate, resolve, inhibit, silence,
acknowledge), and what describes one (significant terms, representative mentions)."""

from models.incidents.lifecycle import Book
from models.incidents.records import (
    SEVERITIES,
    Change,
    HistoryEntry,
    IncidentView,
    LifecycleConfig,
    Severity,
    Signal,
    SignalKind,
    Silence,
    State,
)

__all__ = [
    "SEVERITIES",
    "Book",
    "Change",
    "HistoryEntry",
    "IncidentView",
    "LifecycleConfig",
    "Severity",
    "Signal",
    "SignalKind",
    "Silence",
    "State",
]

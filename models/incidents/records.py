"""The incident lifecycle's plain records: what the detector says, what an incident is, what changed.

Pure mirrors of ``streams.contracts.incidents`` (FlareSignal, Incident, IncidentChange) without the
wire layer: the worker converts. Timestamps are timezone-aware UTC event times (bucket starts and
command times), never the wall clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Severity = Literal["watch", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("watch", "warning", "critical")
"""Lowest first."""

SignalKind = Literal["started", "escalated", "grown", "ended"]
State = Literal["triggered", "updated", "acknowledged", "resolved"]


def rank(severity: Severity | None) -> int:
    """-1 for None, then 0, 1, 2 from watch to critical."""
    return -1 if severity is None else SEVERITIES.index(severity)


@dataclass(frozen=True, slots=True)
class Signal:
    """One bucket of one flaring series (a brand, or a brand and a complaint category)."""

    signal_id: str
    brand: str
    category: str | None
    """None: the brand-wide series."""
    kind: SignalKind
    bucket_start: datetime
    flare_started_at: datetime
    bucket_seconds: int
    severity: Severity | None
    """None when the flare ended."""
    observed: float
    mentions: int
    expected: float
    score: float = 0.0
    peak: float = 0.0
    measure: str = "complaints"
    languages: Mapping[str, int] = field(default_factory=dict)
    categories: Mapping[str, int] = field(default_factory=dict)
    sample_mention_ids: tuple[str, ...] = ()

    @property
    def series(self) -> str:
        """The series' key inside one brand's book."""
        return f"{self.measure}|{self.category or ''}"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One version in an incident's history (wire: IncidentChange)."""

    version: int
    state: State
    severity: Severity
    at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class IncidentView:
    """One incident as of its latest change (wire: Incident, less the enrichment the worker adds:
    top_terms, representatives, search_command, kibana_url)."""

    incident_id: str
    version: int
    brand: str
    category: str | None
    measure: str
    state: State
    severity: Severity
    started_at: datetime
    updated_at: datetime
    bucket_seconds: int
    observed: float
    expected: float
    peak: float
    peak_expected: float
    peak_at: datetime
    total: int = 0
    score: float = 0.0
    categories: Mapping[str, int] = field(default_factory=dict)
    languages: Mapping[str, int] = field(default_factory=dict)
    sample_mention_ids: tuple[str, ...] = ()
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    inhibited_by: str | None = None
    silenced_until: datetime | None = None
    history: tuple[HistoryEntry, ...] = ()

    @property
    def open(self) -> bool:
        return self.state != "resolved"


@dataclass(frozen=True, slots=True)
class Change:
    """A new version of an incident; ``page`` is False while it is inhibited or silenced, or when the
    version is recorded but is no news to the person on call (e.g. growth after an acknowledgement)."""

    incident: IncidentView
    page: bool


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    growth_factor: float = 2.0
    """An open incident is ``updated`` when the bucket count reaches this multiple of the count at
    its last version."""
    reopen_within: timedelta = timedelta(hours=1)
    """A flare of the same series starting this soon after a resolve reopens the same incident."""
    fold_share: float = 0.5
    """A brand-wide flare is folded into an open category incident that accounts for at least this
    share of its excess over the baseline."""
    history_limit: int = 50
    """Versions kept in an incident's history: the first, then the latest."""
    sample_limit: int = 20
    """Sample mention ids kept per incident: the earliest half and the latest half."""

    def __post_init__(self) -> None:
        if self.growth_factor <= 1.0:
            raise ValueError("growth_factor must be above 1")
        if self.reopen_within < timedelta(0):
            raise ValueError("reopen_within must not be negative")
        if not 0.0 < self.fold_share <= 1.0:
            raise ValueError("fold_share must be in (0, 1]")
        if self.history_limit < 2 or self.sample_limit < 2:
            raise ValueError("history_limit and sample_limit must be at least 2")


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes pages (the versions are still written) of a brand's incidents until ``until``.

    ``category`` None silences every incident of the brand; otherwise the incidents whose category
    (the problem they were opened for) is that category."""

    brand: str
    category: str | None
    until: datetime

    def covers(self, incident: IncidentView, at: datetime) -> bool:
        if incident.brand != self.brand or at >= self.until:
            return False
        return self.category is None or self.category == incident.category

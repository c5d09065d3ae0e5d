"""Flare-up records on the wire: the detector's signals, incidents and their versions, the
commands that change them, and the record of each delivery to a notifier.

topic ``<prefix>.flares``             FlareSignal, keyed by brand (one brand's incidents live in one
                                      partition of the incidents table)
topic ``<prefix>.incident-commands``  IncidentCommand, keyed by brand (same partitioning)
topic ``<prefix>.incidents``          IncidentEvent, keyed by incident id (what the notifiers read)
index ``<prefix>-deliveries``         Delivery, ``_id`` = ``Delivery.delivery_id``
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from streams.contracts.records import Record, UtcDatetime

Severity = Literal["watch", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("watch", "warning", "critical")
"""Lowest first."""

Measure = Literal["complaints", "negative"]
"""What a detected series counts: customers' complaints, or customers' negative mentions."""


class SignalKind(StrEnum):
    STARTED = "started"
    ESCALATED = "escalated"
    """Severity went up."""
    GROWN = "grown"
    """Still flaring, no new severity: the latest counts (the incident decides whether that is news)."""
    ENDED = "ended"


class FlareSignal(Record):
    """What the detector says about one series (a brand, or a brand and a complaint category) when a
    bucket closes while it flares: started, escalated, grown or ended."""

    schema_version: Literal[1] = 1
    signal_id: str
    """``brand:category-or-all:measure:bucket:kind``: a redelivered signal has the same id."""
    brand: str
    category: str | None
    """None: the brand-wide series."""
    measure: Measure
    kind: SignalKind
    flare_started_at: UtcDatetime
    bucket_start: UtcDatetime
    bucket_seconds: int = Field(gt=0)
    severity: Severity | None
    """The current severity; None when the flare ended."""
    observed: float
    """The bucket's count (reach-weighted when weighting is on)."""
    mentions: int
    """Raw count of what ``measure`` counts in the bucket (unweighted)."""
    expected: float
    """The baseline for the bucket."""
    score: float
    """How far above the baseline, in robust standard deviations on the stabilised scale."""
    peak: float
    languages: dict[str, int] = Field(default_factory=dict)
    categories: dict[str, int] = Field(default_factory=dict)
    """Complaint categories counted in the bucket (brand-wide series: all of them)."""
    sample_mention_ids: tuple[str, ...] = ()
    """A few of the bucket's mentions: the most reached and the most negative first."""


class IncidentState(StrEnum):
    TRIGGERED = "triggered"
    UPDATED = "updated"
    """Escalated or grown."""
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class IncidentChange(Record):
    """One version in an incident's history."""

    version: int = Field(ge=1)
    state: IncidentState
    severity: Severity
    at: UtcDatetime
    """Event time: the bucket (or command) that made the change."""
    note: str = ""


class Representative(Record):
    mention_id: str
    text: str = ""
    url: str | None = None
    author: str | None = None
    followers: int | None = None
    negative: float | None = None
    """The model's negative probability."""
    created_at: UtcDatetime | None = None
    why: Literal["reach", "negative"] = "negative"


class Incident(Record):
    """A flare-up people act on: one problem of one brand, from trigger to resolve."""

    schema_version: Literal[1] = 1
    incident_id: str
    """``brand:category-or-all:start`` (start as ``%Y%m%dT%H%MZ``)."""
    version: int = Field(ge=1)
    brand: str
    category: str | None
    """None: brand-wide."""
    categories: dict[str, int] = Field(default_factory=dict)
    """Complaint categories counted while it lasted (folded-in category flares included)."""
    measure: Measure
    state: IncidentState
    severity: Severity
    started_at: UtcDatetime
    updated_at: UtcDatetime
    resolved_at: UtcDatetime | None = None
    acknowledged_at: UtcDatetime | None = None
    acknowledged_by: str | None = None
    bucket_seconds: int = Field(gt=0)
    observed: float
    """The latest bucket's count."""
    expected: float
    """The latest bucket's baseline."""
    peak: float
    peak_expected: float
    peak_at: UtcDatetime
    total: int = 0
    """Mentions counted over the incident's flaring buckets."""
    score: float = 0.0
    languages: dict[str, int] = Field(default_factory=dict)
    top_terms: tuple[str, ...] = ()
    """Terms and phrases that set the flare-up apart from the brand's recent background."""
    representatives: tuple[Representative, ...] = ()
    inhibited_by: str | None = None
    """The brand-wide incident that contains this one (its pages are muted)."""
    silenced_until: UtcDatetime | None = None
    history: tuple[IncidentChange, ...] = ()
    search_command: str = ""
    kibana_url: str = ""

    @property
    def open(self) -> bool:
        return self.state is not IncidentState.RESOLVED


EventType = Literal["incident.triggered", "incident.updated", "incident.resolved", "incident.acknowledged"]


def event_type(state: IncidentState) -> EventType:
    return {
        IncidentState.TRIGGERED: "incident.triggered",
        IncidentState.UPDATED: "incident.updated",
        IncidentState.RESOLVED: "incident.resolved",
        IncidentState.ACKNOWLEDGED: "incident.acknowledged",
    }[state]  # type: ignore[return-value]


class IncidentEvent(Record):
    """One version of an incident, for the notifiers."""

    schema_version: Literal[1] = 1
    event_id: str
    """``incident_id:v<version>``: the webhook id and the delivery key."""
    type: EventType
    incident: Incident
    page: bool = True
    """False while the incident is inhibited or silenced: recorded, not delivered."""
    emitted_at: UtcDatetime


class IncidentCommand(Record):
    """A person's action on an incident, e.g. ``flarewatch incidents ack ID``."""

    schema_version: Literal[1] = 1
    command: Literal["acknowledge"]
    incident_id: str
    brand: str
    by: str = Field(min_length=1, max_length=256)
    at: UtcDatetime


DeliveryStatus = Literal["delivered", "failed", "muted"]


class Delivery(Record):
    """The outcome of delivering one incident version to one notifier (every attempt counted)."""

    schema_version: Literal[1] = 1
    delivery_id: str
    """``event_id:notifier``: at most one delivery per incident version and notifier."""
    event_id: str
    incident_id: str
    """The incident; for an SLA alert, the thread key."""
    version: int
    """The incident version; 0 for an SLA alert."""
    type: EventType | Literal["sla.warning", "sla.breach"]
    notifier: str
    notifier_type: str
    status: DeliveryStatus
    attempts: int = Field(ge=0)
    last_error: str | None = None
    response_status: int | None = None
    first_attempt_at: UtcDatetime | None = None
    finished_at: UtcDatetime

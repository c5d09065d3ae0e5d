"""Between the wire (``streams.contracts.incidents``) and the pure lifecycle (``models.incidents``):
a flare signal in, an incident version and its event out. The one place that converts."""

from __future__ import annotations

from datetime import datetime

from models.incidents import IncidentView, Signal
from streams.contracts.incidents import (
    FlareSignal,
    Incident,
    IncidentChange,
    IncidentEvent,
    IncidentState,
    Representative,
    event_type,
)


def signal_of(record: FlareSignal) -> Signal:
    return Signal(
        signal_id=record.signal_id,
        brand=record.brand,
        category=record.category,
        kind=record.kind.value,
        bucket_start=record.bucket_start,
        flare_started_at=record.flare_started_at,
        bucket_seconds=record.bucket_seconds,
        severity=record.severity,
        observed=record.observed,
        mentions=record.mentions,
        expected=record.expected,
        score=record.score,
        peak=record.peak,
        measure=record.measure,
        languages=dict(record.languages),
        categories=dict(record.categories),
        sample_mention_ids=record.sample_mention_ids,
    )


def incident_of(
    view: IncidentView,
    top_terms: tuple[str, ...] = (),
    representatives: tuple[Representative, ...] = (),
    search_command: str = "",
    kibana_url: str = "",
) -> Incident:
    """The wire incident for one version; raises pydantic's ValidationError when the view does not
    fit the contract (a bug)."""
    return Incident(
        incident_id=view.incident_id,
        version=view.version,
        brand=view.brand,
        category=view.category,
        categories=dict(view.categories),
        measure=view.measure,  # type: ignore[arg-type]  # validated by pydantic
        state=IncidentState(view.state),
        severity=view.severity,
        started_at=view.started_at,
        updated_at=view.updated_at,
        resolved_at=view.resolved_at,
        acknowledged_at=view.acknowledged_at,
        acknowledged_by=view.acknowledged_by,
        bucket_seconds=view.bucket_seconds,
        observed=view.observed,
        expected=view.expected,
        peak=view.peak,
        peak_expected=view.peak_expected,
        peak_at=view.peak_at,
        total=view.total,
        score=view.score,
        languages=dict(view.languages),
        top_terms=top_terms,
        representatives=representatives,
        inhibited_by=view.inhibited_by,
        silenced_until=view.silenced_until,
        history=tuple(
            IncidentChange(
                version=h.version, state=IncidentState(h.state), severity=h.severity, at=h.at, note=h.note
            )
            for h in view.history
        ),
        search_command=search_command,
        kibana_url=kibana_url,
    )


def event_of(incident: Incident, page: bool, emitted_at: datetime) -> IncidentEvent:
    """``event_id`` = ``incident_id:v<version>``: the same version always has the same id."""
    return IncidentEvent(
        event_id=f"{incident.incident_id}:v{incident.version}",
        type=event_type(incident.state),
        incident=incident,
        page=page,
        emitted_at=emitted_at,
    )

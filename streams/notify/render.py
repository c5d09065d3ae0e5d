"""What every notifier says about an incident: the problem's name, a one-line summary, the counts
against the baseline, and the JSON form of the incident."""

from __future__ import annotations

from typing import Any

from streams.contracts.incidents import Incident, IncidentEvent


def problem(incident: Incident) -> str:
    """The category as words, or what the brand-wide series counts."""
    if incident.category:
        return incident.category.replace("_", " ")
    return "complaints (brand-wide)" if incident.measure == "complaints" else "negative mentions (brand-wide)"


def ratio(observed: float, expected: float) -> str:
    return f"{observed / expected:.1f}x" if expected > 0 else "new"


def counts(incident: Incident) -> str:
    minutes = incident.bucket_seconds // 60
    return (
        f"{incident.observed:g} in {minutes} min vs {incident.expected:.1f} expected "
        f"({ratio(incident.observed, incident.expected)}); peak {incident.peak:g} vs "
        f"{incident.peak_expected:.1f} at {incident.peak_at:%H:%M}Z"
    )


def summary(event: IncidentEvent) -> str:
    """One line: ``[WARNING] acme: payments — triggered: 40 in 5 min vs 4.0 expected (10.0x); ...``"""
    i = event.incident
    return f"[{i.severity.upper()}] {i.brand}: {problem(i)} — {i.state.value}: {counts(i)}"


def details(incident: Incident) -> dict[str, Any]:
    """The counts as a flat mapping (PagerDuty's ``custom_details``, the e-mail's table)."""
    return {
        "incident_id": incident.incident_id,
        "version": incident.version,
        "brand": incident.brand,
        "category": incident.category,
        "measure": incident.measure,
        "state": incident.state.value,
        "severity": incident.severity,
        "started_at": incident.started_at.isoformat(),
        "observed": incident.observed,
        "expected": incident.expected,
        "ratio": ratio(incident.observed, incident.expected),
        "peak": incident.peak,
        "peak_expected": incident.peak_expected,
        "peak_at": incident.peak_at.isoformat(),
        "total": incident.total,
        "score": incident.score,
        "bucket_seconds": incident.bucket_seconds,
        "languages": dict(incident.languages),
        "top_terms": list(incident.top_terms),
        "search_command": incident.search_command,
        "kibana_url": incident.kibana_url,
    }


def incident_data(incident: Incident) -> dict[str, Any]:
    """The incident as JSON with ``id`` (= ``incident_id``) first: the webhook's ``data``."""
    return {"id": incident.incident_id, **incident.model_dump(mode="json")}


def samples(incident: Incident, n: int = 2, limit: int = 280) -> list[str]:
    """The first ``n`` representative mentions' texts, shortened to ``limit`` characters."""
    texts = [" ".join(r.text.split()) for r in incident.representatives if r.text.strip()]
    return [t if len(t) <= limit else t[: limit - 1] + "…" for t in texts[:n]]

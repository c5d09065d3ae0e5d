"""What a book keeps per incident besides its view, and the JSON form of both.

The JSON is the book's state in a table: small (history and samples are capped by the view's
builder), JSON-safe, keys sorted by the caller's serializer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from models.incidents.records import HistoryEntry, IncidentView, Severity, State


@dataclass(slots=True)
class Tally:
    """Counts one member series contributed over the incident."""

    categories: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class Entry:
    """An incident inside a book: its view (counts may be newer than the published version), the
    series that belong to it and what the paging rules need."""

    view: IncidentView
    primary: str
    """The series whose counts the view shows: the one that opened (or reopened) it."""
    active: set[str]
    """Member series flaring now; the incident resolves when the last one ends."""
    members: dict[str, Tally]
    """Every series that ever belonged to it (a member's new flare reopens it)."""
    published_observed: float
    """The count at the last version: the growth rule's reference."""
    acked_severity: Severity | None = None
    """The severity when last acknowledged; growth below a higher severity does not page."""

    def merged(self, name: str) -> dict[str, int]:
        """Per key, the largest count any member saw (a brand-wide series contains its categories)."""
        out: dict[str, int] = {}
        for tally in self.members.values():
            for key, count in getattr(tally, name).items():
                out[key] = max(out.get(key, 0), count)
        return dict(sorted(out.items()))


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _required(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def view_to_json(view: IncidentView) -> dict[str, Any]:
    return {
        "incident_id": view.incident_id,
        "version": view.version,
        "brand": view.brand,
        "category": view.category,
        "measure": view.measure,
        "state": view.state,
        "severity": view.severity,
        "started_at": _time(view.started_at),
        "updated_at": _time(view.updated_at),
        "bucket_seconds": view.bucket_seconds,
        "observed": view.observed,
        "expected": view.expected,
        "peak": view.peak,
        "peak_expected": view.peak_expected,
        "peak_at": _time(view.peak_at),
        "total": view.total,
        "score": view.score,
        "categories": dict(view.categories),
        "languages": dict(view.languages),
        "sample_mention_ids": list(view.sample_mention_ids),
        "resolved_at": _time(view.resolved_at),
        "acknowledged_at": _time(view.acknowledged_at),
        "acknowledged_by": view.acknowledged_by,
        "inhibited_by": view.inhibited_by,
        "silenced_until": _time(view.silenced_until),
        "history": [[h.version, h.state, h.severity, _time(h.at), h.note] for h in view.history],
    }


def view_from_json(data: Mapping[str, Any]) -> IncidentView:
    return IncidentView(
        incident_id=str(data["incident_id"]),
        version=int(data["version"]),
        brand=str(data["brand"]),
        category=data["category"],
        measure=str(data["measure"]),
        state=cast(State, data["state"]),
        severity=cast(Severity, data["severity"]),
        started_at=_required(data["started_at"]),
        updated_at=_required(data["updated_at"]),
        bucket_seconds=int(data["bucket_seconds"]),
        observed=float(data["observed"]),
        expected=float(data["expected"]),
        peak=float(data["peak"]),
        peak_expected=float(data["peak_expected"]),
        peak_at=_required(data["peak_at"]),
        total=int(data["total"]),
        score=float(data["score"]),
        categories={str(k): int(v) for k, v in data["categories"].items()},
        languages={str(k): int(v) for k, v in data["languages"].items()},
        sample_mention_ids=tuple(str(i) for i in data["sample_mention_ids"]),
        resolved_at=_parse(data["resolved_at"]),
        acknowledged_at=_parse(data["acknowledged_at"]),
        acknowledged_by=data["acknowledged_by"],
        inhibited_by=data["inhibited_by"],
        silenced_until=_parse(data["silenced_until"]),
        history=tuple(
            HistoryEntry(int(v), cast(State, s), cast(Severity, sev), _required(at), str(note))
            for v, s, sev, at, note in data["history"]
        ),
    )


def entry_to_json(entry: Entry) -> dict[str, Any]:
    return {
        "view": view_to_json(entry.view),
        "primary": entry.primary,
        "active": sorted(entry.active),
        "members": {
            key: {"categories": dict(t.categories), "languages": dict(t.languages)}
            for key, t in sorted(entry.members.items())
        },
        "published_observed": entry.published_observed,
        "acked_severity": entry.acked_severity,
    }


def entry_from_json(data: Mapping[str, Any]) -> Entry:
    return Entry(
        view=view_from_json(data["view"]),
        primary=str(data["primary"]),
        active={str(s) for s in data["active"]},
        members={
            str(key): Tally(Counter(t["categories"]), Counter(t["languages"]))
            for key, t in data["members"].items()
        },
        published_observed=float(data["published_observed"]),
        acked_severity=cast("Severity | None", data["acked_severity"]),
    )

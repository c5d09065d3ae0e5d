"""One brand's incidents: flare signals and acknowledgements in, new incident versions out.

One problem is one incident. A series (brand-wide, or brand x category) that starts flaring opens an
incident, reopens the one it belonged to if that resolved less than ``reopen_within`` ago, or joins
an open one:

* a category flare joins the open brand-wide incident (inhibition by folding: its category is added
  to ``categories``);
* a brand-wide flare joins the open category incident that accounts for at least ``fold_share`` of
  its excess over the baseline (its count in the same bucket taken from the brand-wide signal's
  ``categories`` when its own signal lags); if there is none, it opens a brand-wide incident and the open
  category incidents get ``inhibited_by`` (a version that does not page; later versions do not page
  while the brand-wide incident is open).

Versions: ``triggered`` (new or reopened), ``updated`` (severity up; or the primary series' count
reached ``growth_factor`` times the count at the last version; otherwise counts are refreshed in
the book without a version), ``acknowledged`` (a command; the incident stays open), ``resolved``
(the last member series ended; the detector applies hysteresis). Redelivered signals and repeated
acknowledgements return no change. Pure, event-time only, not thread-safe.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from models.incidents.entry import Entry, Tally, entry_from_json, entry_to_json
from models.incidents.records import (
    Change,
    IncidentView,
    LifecycleConfig,
    Severity,
    Signal,
    SignalKind,
    Silence,
    State,
    rank,
)
from models.incidents.views import absorbed, bumped, incident_id, opened

__all__ = ["Book"]

STATE_VERSION = 1


def _brand_wide(series: str) -> bool:
    return series.endswith("|")


class Book:
    """The open and recently resolved incidents of ONE brand; ``state`` is a ``to_json()`` result."""

    def __init__(
        self,
        config: LifecycleConfig | None = None,
        silences: Sequence[Silence] = (),
        state: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config or LifecycleConfig()
        self.silences = tuple(silences)
        self.brand: str | None = None
        self.now: datetime | None = None
        self.applied: dict[str, tuple[datetime, SignalKind]] = {}
        self.entries: dict[str, Entry] = {}
        if state:
            self._load(state)

    @property
    def incidents(self) -> tuple[IncidentView, ...]:
        """The incidents kept (open, and resolved within ``reopen_within``), oldest first."""
        return tuple(entry.view for entry in self.entries.values())

    def get(self, ident: str) -> IncidentView | None:
        entry = self.entries.get(ident)
        return None if entry is None else entry.view

    def apply(self, signal: Signal) -> list[Change]:
        """The versions one signal makes; [] for a redelivered one (same series, bucket and kind, or
        an older bucket than the series' last applied). Raises ValueError for another brand."""
        self._own(signal.brand)
        last = self.applied.get(signal.series)
        if last is not None and (last[0] > signal.bucket_start or last == (signal.bucket_start, signal.kind)):
            return []
        self.applied[signal.series] = (signal.bucket_start, signal.kind)
        self.now = signal.bucket_start if self.now is None else max(self.now, signal.bucket_start)
        entry = self._flaring(signal.series)
        if signal.kind == "ended":
            changes = [] if entry is None else self._end(entry, signal)
        elif entry is None:
            changes = self._start(signal)
        else:
            changes = self._refresh(entry, signal)
        self._prune()
        return changes

    def acknowledge(self, ident: str, by: str, at: datetime) -> list[Change]:
        """``acknowledged`` for an open incident; [] when unknown, resolved or already acknowledged."""
        entry = self.entries.get(ident)
        if entry is None or not entry.view.open or entry.view.state == "acknowledged":
            return []
        if entry.view.acknowledged_at == at and entry.view.acknowledged_by == by:
            return []
        entry.view = replace(entry.view, acknowledged_at=at, acknowledged_by=by)
        entry.acked_severity = entry.view.severity
        return [self._version(entry, "acknowledged", at, f"acknowledged by {by}", True)]

    def to_json(self) -> dict[str, Any]:
        return {
            "state_version": STATE_VERSION,
            "brand": self.brand,
            "now": None if self.now is None else self.now.isoformat(),
            "applied": {k: [t.isoformat(), kind] for k, (t, kind) in sorted(self.applied.items())},
            "incidents": [entry_to_json(entry) for entry in self.entries.values()],
        }

    def _load(self, state: Mapping[str, Any]) -> None:
        if state.get("state_version") != STATE_VERSION:
            raise ValueError(f"unknown incident book state version {state.get('state_version')!r}")
        self.brand = state["brand"]
        self.now = None if state["now"] is None else datetime.fromisoformat(state["now"])
        self.applied = {
            str(k): (datetime.fromisoformat(t), cast(SignalKind, kind))
            for k, (t, kind) in state["applied"].items()
        }
        for data in state["incidents"]:
            entry = entry_from_json(data)
            self.entries[entry.view.incident_id] = entry

    def _own(self, brand: str) -> None:
        if self.brand is None:
            self.brand = brand
        elif brand != self.brand:
            raise ValueError(f"signal for {brand!r} applied to the book of {self.brand!r}")

    def _flaring(self, series: str) -> Entry | None:
        for entry in self.entries.values():
            if entry.view.open and series in entry.active:
                return entry
        return None

    def _start(self, signal: Signal) -> list[Change]:
        reopened = self._reopenable(signal)
        if reopened is not None:
            return self._reopen(reopened, signal)
        host = self._host(signal)
        if host is not None:
            return self._join(host, signal)
        return self._open(signal)

    def _reopenable(self, signal: Signal) -> Entry | None:
        window = self.config.reopen_within
        found = [
            e
            for e in self.entries.values()
            if not e.view.open
            and signal.series in e.members
            and e.view.resolved_at is not None
            and signal.bucket_start - e.view.resolved_at <= window
        ]
        found.sort(key=lambda e: (e.primary != signal.series, -e.view.updated_at.timestamp()))
        return found[0] if found else None

    def _host(self, signal: Signal) -> Entry | None:
        """The open incident this flare belongs to, if any (same key, or folded in)."""
        open_entries = [e for e in self.entries.values() if e.view.open]
        for entry in open_entries:
            if signal.series in entry.members or entry.view.category == signal.category:
                return entry
        if signal.category is not None:
            wide = [e for e in open_entries if e.view.category is None or any(map(_brand_wide, e.active))]
            return wide[0] if wide else None
        candidates = [e for e in open_entries if not self._inhibited(e)]
        if not candidates:
            return None
        best = min(candidates, key=lambda e: (-_excess(e, signal), e.view.incident_id))
        if _excess(best, signal) >= self.config.fold_share * (signal.observed - signal.expected):
            return best
        return None

    def _open(self, signal: Signal) -> list[Change]:
        problem = replace(signal, category=self._problem(signal))
        ident = incident_id(problem)
        n = 1
        while ident in self.entries:
            n += 1
            ident = f"{incident_id(problem)}-{n}"
        entry = Entry(opened(problem, ident), signal.series, set(), {}, 0.0)
        self.entries[ident] = entry
        self._absorb(entry, signal)
        changes = [self._version(entry, "triggered", signal.bucket_start, _started(signal), True)]
        if signal.category is None:
            changes.extend(self._inhibit_categories(entry, signal.bucket_start))
        return changes

    def _problem(self, signal: Signal) -> str | None:
        """The incident's category: the signal's; for a brand-wide flare, the one category that
        accounts for at least ``fold_share`` of its excess over the baseline (a BLIK outage whose
        payment complaints make half the excess is a payment incident, whichever series flares
        first), else None (brand-wide)."""
        excess = signal.observed - signal.expected
        if signal.category is not None or not signal.categories or excess <= 0:
            return signal.category
        category, count = max(signal.categories.items(), key=lambda item: (item[1], item[0]))
        return category if count >= self.config.fold_share * excess else None

    def _inhibit_categories(self, wide: Entry, at: datetime) -> list[Change]:
        changes = []
        for entry in self.entries.values():
            if entry is wide or not entry.view.open or self._inhibited(entry):
                continue
            entry.view = replace(entry.view, inhibited_by=wide.view.incident_id)
            note = f"inhibited by {wide.view.incident_id}"
            changes.append(self._version(entry, "updated", at, note, False))
        return changes

    def _reopen(self, entry: Entry, signal: Signal) -> list[Change]:
        entry.primary = signal.series
        entry.acked_severity = None
        entry.view = replace(
            entry.view,
            severity=signal.severity or entry.view.severity,
            measure=signal.measure,
            resolved_at=None,
            acknowledged_at=None,
            acknowledged_by=None,
            inhibited_by=None,
        )
        self._absorb(entry, signal)
        note = f"reopened: {_started(signal)}"
        return [self._version(entry, "triggered", signal.bucket_start, note, True)]

    def _join(self, entry: Entry, signal: Signal) -> list[Change]:
        self._absorb(entry, signal)
        up = rank(signal.severity) > rank(entry.view.severity)
        if up:
            entry.view = replace(entry.view, severity=cast(Severity, signal.severity))
        what = "brand-wide" if signal.category is None else f"category {signal.category}"
        note = f"joined by the {what} flare" + (f", escalated to {signal.severity}" if up else "")
        return [self._version(entry, "updated", signal.bucket_start, note, up)]

    def _refresh(self, entry: Entry, signal: Signal) -> list[Change]:
        self._absorb(entry, signal)
        at = signal.bucket_start
        if rank(signal.severity) > rank(entry.view.severity):
            entry.view = replace(entry.view, severity=cast(Severity, signal.severity))
            return [self._version(entry, "updated", at, f"escalated to {signal.severity}", True)]
        reference = entry.published_observed
        if signal.series == entry.primary and 0 < reference * self.config.growth_factor <= signal.observed:
            note = f"grown to {signal.observed:g} ({signal.observed / reference:.1f}x)"
            acked = entry.acked_severity is not None and rank(entry.acked_severity) >= rank(
                entry.view.severity
            )
            return [self._version(entry, "updated", at, note, not acked)]
        return []

    def _end(self, entry: Entry, signal: Signal) -> list[Change]:
        entry.active.discard(signal.series)
        self._absorb(entry, signal)
        if entry.active:
            return []
        entry.view = replace(entry.view, resolved_at=signal.bucket_start)
        return [self._version(entry, "resolved", signal.bucket_start, "flare ended", True)]

    def _absorb(self, entry: Entry, signal: Signal) -> None:
        if signal.kind != "ended":
            entry.active.add(signal.series)
            tally = entry.members.setdefault(signal.series, Tally())
            tally.categories.update(Counter(signal.categories))
            tally.languages.update(Counter(signal.languages))
        view = absorbed(entry.view, signal, signal.series == entry.primary, self.config.sample_limit)
        entry.view = replace(view, categories=entry.merged("categories"), languages=entry.merged("languages"))

    def _inhibited(self, entry: Entry) -> bool:
        inhibitor = entry.view.inhibited_by
        return inhibitor is not None and inhibitor in self.entries and self.entries[inhibitor].view.open

    def _version(self, entry: Entry, state: State, at: datetime, note: str, news: bool) -> Change:
        inhibited = self._inhibited(entry)
        until = max((s.until for s in self.silences if s.covers(entry.view, at)), default=None)
        view = replace(
            entry.view,
            inhibited_by=entry.view.inhibited_by if inhibited else None,
            silenced_until=until,
        )
        entry.view = bumped(view, state, at, note, self.config.history_limit)
        entry.published_observed = entry.view.observed
        return Change(entry.view, news and not inhibited and until is None)

    def _prune(self) -> None:
        if self.now is None:
            return
        horizon = self.now - self.config.reopen_within
        for ident, entry in list(self.entries.items()):
            if entry.view.resolved_at is not None and entry.view.resolved_at < horizon:
                del self.entries[ident]


def _excess(entry: Entry, wide: Signal) -> float:
    """A category incident's count above its baseline: its latest, or the brand-wide signal's count
    of its category in the same bucket, whichever is more (its own signal may be a bucket behind)."""
    view = entry.view
    same_bucket = wide.categories.get(view.category, 0) if view.category is not None else 0
    return max(view.observed, float(same_bucket)) - view.expected


def _started(signal: Signal) -> str:
    return (
        f"{signal.severity or 'watch'}: {signal.observed:g} against {signal.expected:g} expected"
        f" ({signal.kind} signal)"
    )

"""How an incident's view changes: opened from a signal, counts absorbed, a version added.

Pure functions of (view, signal); the book decides which one applies and whether it pages.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from models.incidents.records import HistoryEntry, IncidentView, Signal, State


def incident_id(signal: Signal) -> str:
    """``brand:category-or-all:start`` with start as ``%Y%m%dT%H%MZ`` (UTC)."""
    return f"{signal.brand}:{signal.category or 'all'}:{signal.flare_started_at:%Y%m%dT%H%MZ}"


def opened(signal: Signal, ident: str) -> IncidentView:
    """Version 0 of a new incident: the caller adds version 1 (``triggered``) with ``bumped``."""
    return IncidentView(
        incident_id=ident,
        version=0,
        brand=signal.brand,
        category=signal.category,
        measure=signal.measure,
        state="triggered",
        severity=signal.severity or "watch",
        started_at=signal.flare_started_at,
        updated_at=signal.bucket_start,
        bucket_seconds=signal.bucket_seconds,
        observed=0.0,
        expected=0.0,
        peak=0.0,
        peak_expected=0.0,
        peak_at=signal.bucket_start,
    )


def absorbed(view: IncidentView, signal: Signal, primary: bool, sample_limit: int) -> IncidentView:
    """The view with a signal's samples and, when it comes from the primary series, its counts.

    Categories and languages are the caller's (merged over member series)."""
    samples = capped_samples(view.sample_mention_ids, signal.sample_mention_ids, sample_limit)
    if not primary:
        return replace(view, sample_mention_ids=samples)
    flaring = signal.kind != "ended"
    higher = flaring and signal.observed > view.peak
    return replace(
        view,
        sample_mention_ids=samples,
        bucket_seconds=signal.bucket_seconds,
        observed=signal.observed,
        expected=signal.expected,
        score=signal.score,
        total=view.total + (signal.mentions if flaring else 0),
        peak=signal.observed if higher else view.peak,
        peak_expected=signal.expected if higher else view.peak_expected,
        peak_at=signal.bucket_start if higher else view.peak_at,
    )


def bumped(view: IncidentView, state: State, at: datetime, note: str, history_limit: int) -> IncidentView:
    """The next version: state, time and a history entry (the first and the latest kept)."""
    version = view.version + 1
    entry = HistoryEntry(version=version, state=state, severity=view.severity, at=at, note=note)
    history = (*view.history, entry)
    if len(history) > history_limit:
        history = (history[0], *history[len(history) - history_limit + 1 :])
    return replace(view, version=version, state=state, updated_at=max(view.updated_at, at), history=history)


def capped_samples(kept: tuple[str, ...], new: tuple[str, ...], limit: int) -> tuple[str, ...]:
    """Ids in first-seen order, without repeats; past ``limit`` the earliest half and the latest."""
    seen = set(kept)
    merged = list(kept)
    for ident in new:
        if ident not in seen:
            seen.add(ident)
            merged.append(ident)
    if len(merged) <= limit:
        return tuple(merged)
    head = limit // 2
    return (*merged[:head], *merged[len(merged) - (limit - head) :])

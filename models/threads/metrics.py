"""Response-time metrics: one conversation's response times, and reports over many threads.

Response times follow Zendesk's and Chatwoot's definitions. The first response runs from the
customer's first message to the brand's first reply after it. After each brand reply, the next
response clock starts at the oldest customer message not answered yet and stops at the next brand
reply; the first response is not a next response. A reply answers the customer messages strictly
before it. Percentiles are ``statistics.quantiles(method="inclusive")`` (the same as numpy's default
linear interpolation); the median and p90 of one value are that value.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from models.threads.calendar import BusinessCalendar
from models.threads.status import Turn

__all__ = ["ConversationTimes", "ReportRow", "ThreadFacts", "Turn", "report", "response_times"]

GroupField = Literal["brand", "channel", "category"]
GROUP_FIELDS: tuple[GroupField, ...] = ("brand", "channel", "category")


@dataclass(frozen=True, slots=True)
class ConversationTimes:
    first_customer_at: datetime | None
    first_response_at: datetime | None
    first_response_seconds: float | None
    next_response_seconds: tuple[float, ...]
    unanswered_since: datetime | None
    """The oldest customer message no brand reply has answered yet."""
    replied: bool


@dataclass(frozen=True, slots=True)
class ThreadFacts:
    """One thread as the report needs it; ``negative`` counts its ``mentions`` that read negative."""

    brand: str
    channel: Literal["public", "private"]
    category: str | None
    mentions: int
    negative: int
    times: ConversationTimes
    resolved_at: datetime | None
    started_at: datetime
    mistakes: frozenset[str] = frozenset()
    """The brand's reply mistakes on the thread (``hotline_redirect``, ``private_only``)."""


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One group's figures. The fields not in ``grouped_by`` are None (the row covers all of them).
    Shares are None without a denominator, percentiles (seconds) without data; resolution times run
    on the wall clock from the first customer message."""

    grouped_by: tuple[GroupField, ...]
    brand: str | None
    channel: str | None
    category: str | None
    threads: int
    mentions: int
    negative_share: float | None
    response_rate: float | None
    first_response_median: float | None
    first_response_p90: float | None
    next_response_median: float | None
    next_response_p90: float | None
    resolution_rate: float | None
    resolution_median: float | None
    resolution_p90: float | None
    hotline_redirects: int = 0
    """Threads where the brand sent the customer to the hotline or e-mail."""
    private_only: int = 0
    """Public threads the brand answered only by moving the customer to a private channel."""


def response_times(turns: Iterable[Turn], calendar: BusinessCalendar, business: bool) -> ConversationTimes:
    """The conversation's response times, in business seconds of ``calendar`` when ``business``,
    else wall seconds. The same turns in any order (duplicate ids counted once) give the same result.
    Raises ``ValueError`` on naive datetimes."""
    measure = calendar.elapsed if business else _wall
    pending: list[datetime] = []
    first_customer: datetime | None = None
    first_response: tuple[datetime, float] | None = None
    nexts: list[float] = []
    for turn in _ordered(turns):
        if not turn.from_brand:
            first_customer = first_customer or turn.at
            pending.append(turn.at)
            continue
        answered = [at for at in pending if at < turn.at]
        if not answered:
            continue
        seconds = measure(answered[0], turn.at)
        if first_response is None:
            first_response = (turn.at, seconds)
        else:
            nexts.append(seconds)
        pending = pending[len(answered) :]
    return ConversationTimes(
        first_customer,
        first_response[0] if first_response else None,
        first_response[1] if first_response else None,
        tuple(nexts),
        pending[0] if pending else None,
        first_response is not None,
    )


def report(facts: Sequence[ThreadFacts], group_by: Sequence[str] = GROUP_FIELDS) -> list[ReportRow]:
    """One row per group of ``facts`` by the ``group_by`` fields (any of brand, channel, category;
    ``("brand",)`` gives each brand's overall row), sorted by the group's values. Raises
    ``ValueError`` for another field name."""
    fields = _fields(group_by)
    groups: defaultdict[tuple[str | None, ...], list[ThreadFacts]] = defaultdict(list)
    for fact in facts:
        groups[tuple(_GETTERS[f](fact) for f in fields)].append(fact)
    ordered = sorted(groups.items(), key=lambda item: [(v is None, v or "") for v in item[0]])
    return [_row(fields, dict(zip(fields, key, strict=True)), members) for key, members in ordered]


def _row(
    fields: tuple[GroupField, ...], key: dict[GroupField, str | None], group: list[ThreadFacts]
) -> ReportRow:
    customers = [f for f in group if f.times.first_customer_at is not None]
    firsts = [f.times.first_response_seconds for f in group if f.times.first_response_seconds is not None]
    nexts = [s for f in group for s in f.times.next_response_seconds]
    resolutions = [s for f in group if (s := _resolution_seconds(f)) is not None]
    mentions = sum(f.mentions for f in group)
    return ReportRow(
        fields,
        key.get("brand"),
        key.get("channel"),
        key.get("category"),
        threads=len(group),
        mentions=mentions,
        negative_share=_share(sum(f.negative for f in group), mentions),
        response_rate=_share(sum(f.times.replied for f in customers), len(customers)),
        first_response_median=_quantile(firsts, 2, 0),
        first_response_p90=_quantile(firsts, 10, 8),
        next_response_median=_quantile(nexts, 2, 0),
        next_response_p90=_quantile(nexts, 10, 8),
        resolution_rate=_share(sum(f.resolved_at is not None for f in group), len(group)),
        resolution_median=_quantile(resolutions, 2, 0),
        resolution_p90=_quantile(resolutions, 10, 8),
        hotline_redirects=sum("hotline_redirect" in f.mistakes for f in group),
        private_only=sum("private_only" in f.mistakes for f in group),
    )


def _ordered(turns: Iterable[Turn]) -> list[Turn]:
    unique: dict[str, Turn] = {}
    for turn in sorted((replace(t, at=_utc(t.at, t.id)) for t in turns), key=_turn_order):
        unique.setdefault(turn.id, turn)
    return sorted(unique.values(), key=_turn_order)


def _turn_order(turn: Turn) -> tuple[datetime, str, bool]:
    return turn.at, turn.id, turn.from_brand


def _utc(at: datetime, turn_id: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"turn {turn_id!r} has a naive datetime")
    return at.astimezone(UTC)


def _wall(start: datetime, end: datetime) -> float:
    return max((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds(), 0.0)


def _fields(group_by: Sequence[str]) -> tuple[GroupField, ...]:
    fields: list[GroupField] = []
    for name in group_by:
        match = [f for f in GROUP_FIELDS if f == name]
        if not match or match[0] in fields:
            raise ValueError(f"cannot group by {name!r}: use distinct fields among {', '.join(GROUP_FIELDS)}")
        fields.append(match[0])
    return tuple(fields)


_GETTERS: dict[GroupField, Callable[[ThreadFacts], str | None]] = {
    "brand": lambda f: f.brand,
    "channel": lambda f: f.channel,
    "category": lambda f: f.category,
}


def _resolution_seconds(fact: ThreadFacts) -> float | None:
    start = fact.times.first_customer_at
    if start is None or fact.resolved_at is None or fact.resolved_at < start:
        return None  # unresolved, or resolved before anyone wrote: no resolution time
    return _wall(start, fact.resolved_at)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _quantile(values: list[float], n: int, index: int) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=n, method="inclusive")[index]

"""The business-hours clock: when a brand's service team is open, and how much open time passes.

Opening hours are local wall time in an IANA zone. Each day's intervals are turned into UTC on their
own with zoneinfo, so a day of a daylight-saving change is 23 or 25 hours long and an interval keeps
its wall-clock bounds (09:00-17:00 is 09:00-17:00 on both sides of the change). Public holidays come
from the ``holidays`` package; explicitly closed dates are added to them. Work is per day, never per
minute, and every search ends ``SEARCH_DAYS`` after its start.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DAY = 86_400
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 3 * 366 + 1
"""How far ahead ``add`` and ``next_open`` look before deciding the calendar has no open time."""
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")

Span = tuple[int, int]
"""Seconds after local midnight: start inclusive, end exclusive (end up to 86400)."""
Week = tuple[tuple[Span, ...], ...]
"""Seven days, Monday first."""


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Opening hours in one time zone, minus public holidays and closed dates.

    Every method takes timezone-aware datetimes and raises ``ValueError`` on a naive one; every
    datetime it returns is aware UTC. Pure and non-blocking (holiday tables are computed in memory).
    """

    zone: ZoneInfo
    week: Week
    country: str | None = None
    subdivision: str | None = None
    closed: frozenset[date] = frozenset()
    _holidays: holidays.HolidayBase | None = field(default=None, compare=False, hash=False, repr=False)

    @classmethod
    def always(cls) -> BusinessCalendar:
        """Open 24/7 in UTC with no holidays: business time equals wall time."""
        return cls(ZoneInfo("UTC"), tuple(((0, DAY),) for _ in DAYS))

    @classmethod
    def build(
        cls,
        timezone: str,
        hours: Mapping[str, Sequence[str]],
        country: str | None = None,
        subdivision: str | None = None,
        closed: Iterable[date] = (),
    ) -> BusinessCalendar:
        """A calendar from settings-like values, e.g. ``{"mon-fri": ["09:00-12:00", "12:30-17:00"]}``.

        Day keys are names (``mon`` .. ``sun``), ranges (``mon-fri``, ``sun-thu``) or comma lists of
        both; ``24:00`` may end an interval. Raises ``ValueError`` with a one-line message for an
        unknown zone, day name or country (or subdivision), and an unparsable, empty or overlapping
        interval.
        """
        table = _holiday_table(country, subdivision)
        return cls(_zone(timezone), _week(hours), country, subdivision, frozenset(closed), table)

    def is_open(self, at: datetime) -> bool:
        moment = _utc(at)
        day = self._local_day(moment)
        return any(s <= moment < e for d in (day - timedelta(days=1), day) for s, e in self._spans(d))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself when open, else the start of the next open interval.

        Raises ``ValueError`` when nothing opens within ``SEARCH_DAYS``.
        """
        moment = _utc(at)
        for start, end in self._timeline(moment):
            if end > moment:
                return max(start, moment)
        raise ValueError(f"calendar has no open time within {SEARCH_DAYS} days of {moment.isoformat()}")

    def close_of_day(self, at: datetime) -> datetime:
        """The close of the business day that ``next_open(at)`` falls in: the end of that local
        day's last open interval. Raises ``ValueError`` like ``next_open``."""
        opening = self.next_open(at)
        return self._spans(self._local_day(opening))[-1][1]

    def add(self, start: datetime, seconds: float) -> datetime:
        """The earliest moment at which ``seconds`` of business time have passed since ``start``.

        Exact to the microsecond. Raises ``ValueError`` for negative or non-finite ``seconds`` and
        when the calendar cannot supply that much open time within ``SEARCH_DAYS``.
        """
        moment = _utc(start)
        if not math.isfinite(seconds) or not 0 <= seconds <= SEARCH_DAYS * DAY:
            raise ValueError(f"business seconds to add must be within 0..{SEARCH_DAYS * DAY}, got {seconds}")
        remaining = timedelta(seconds=seconds)
        if not remaining:
            return moment
        for span_start, end in self._timeline(moment):
            begin = max(span_start, moment)
            if end - begin >= remaining:
                return begin + remaining
            remaining -= max(end - begin, timedelta())
        raise ValueError(f"calendar has no {seconds} s of open time within {SEARCH_DAYS} days")

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business seconds between ``start`` and ``end``; 0 when ``end <= start``."""
        begin, finish = _utc(start), _utc(end)
        if finish <= begin:
            return 0.0
        total = timedelta()
        day, last = self._local_day(begin), self._local_day(finish)
        while day <= last:
            for s, e in self._spans(day):
                total += max(min(e, finish) - max(s, begin), timedelta())
            day += timedelta(days=1)
        return total.total_seconds()

    def _timeline(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        first = self._local_day(moment)
        for offset in range(SEARCH_DAYS):
            yield from self._spans(first + timedelta(days=offset))

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if self._is_closed(day):
            return []
        midnight = datetime.combine(day, time(), self.zone)
        spans = [
            (midnight + timedelta(seconds=s), midnight + timedelta(seconds=e))
            for s, e in self.week[day.weekday()]
        ]
        return [
            (s.astimezone(UTC), e.astimezone(UTC)) for s, e in spans if e.astimezone(UTC) > s.astimezone(UTC)
        ]

    def _is_closed(self, day: date) -> bool:
        return day in self.closed or (self._holidays is not None and day in self._holidays)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _holiday_table(country: str | None, subdivision: str | None) -> holidays.HolidayBase | None:
    if country is None:
        if subdivision is not None:
            raise ValueError(f"subdivision {subdivision!r} given without a country")
        return None
    try:
        return holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        raise ValueError(f"unknown holiday country or subdivision: {country!r} / {subdivision!r}") from None


def _week(hours: Mapping[str, Sequence[str]]) -> Week:
    days: list[list[Span]] = [[] for _ in DAYS]
    for key, intervals in hours.items():
        spans = [_span(intervals)] if isinstance(intervals, str) else [_span(text) for text in intervals]
        for index in _day_indexes(key):
            days[index].extend(spans)
    return tuple(_merge(DAYS[i], spans) for i, spans in enumerate(days))


def _day_indexes(key: str) -> list[int]:
    indexes: list[int] = []
    for part in key.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        start, stop = _day(first), _day(last or first)
        indexes += [(start + k) % 7 for k in range((stop - start) % 7 + 1)]
    return indexes


def _day(name: str) -> int:
    if name not in DAYS:
        raise ValueError(f"unknown day name {name!r}: use {', '.join(DAYS)} or a range like mon-fri")
    return DAYS.index(name)


def _span(text: str) -> Span:
    first, sep, last = text.replace(" ", "").partition("-")
    if not sep:
        raise ValueError(f"unparsable interval {text!r}: expected HH:MM-HH:MM")
    start, end = _clock(first, text), _clock(last, text)
    if end <= start:
        raise ValueError(f"interval {text!r} must end after it starts")
    return start, end


def _clock(value: str, text: str) -> int:
    match = _HHMM.match(value)
    hour, minute = (int(match[1]), int(match[2])) if match else (-1, -1)
    seconds = hour * 3600 + minute * 60
    if not match or minute > 59 or not 0 <= seconds <= DAY:
        raise ValueError(f"unparsable interval {text!r}: expected HH:MM-HH:MM within 00:00-24:00")
    return seconds


def _merge(day: str, spans: list[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            raise ValueError(f"overlapping intervals on {day}: {_text(merged[-1])} and {_text((start, end))}")
        if merged and start == merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _text(span: Span) -> str:
    return "-".join(f"{s // 3600:02d}:{s % 3600 // 60:02d}" for s in span)

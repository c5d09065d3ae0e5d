"""Response-time targets, the clock each one runs on a thread, and the alerts a clock makes due.

A clock starts when the customer is owed an answer (which message starts it is the caller's choice:
the first customer message for ``first_response``, the oldest unanswered one for ``next_response``,
the latest one for ``reply_window``) and stops at the brand's answer. Everything is a pure function
of the inputs and ``now``, so a worker that restarts late computes the same clocks and the same alert
ids, and a notifier store that keeps delivered ids sends each alert once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from models.threads.calendar import BusinessCalendar

Channel = Literal["public", "private"]
Applies = Literal["public", "private", "any"]
TargetKind = Literal["first_response", "next_response", "reply_window"]
ClockState = Literal["running", "warning", "breached", "met", "missed"]
AlertKind = Literal["warning", "breach"]
_Measure = Callable[[datetime, datetime], float]


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """How long a brand may take to answer, and on which threads.

    ``seconds`` is the target, in business seconds when ``business_hours`` is set, else wall-clock
    seconds. With ``until_close`` the answer is due at the close of the business day the clock
    starts in (see :meth:`BusinessCalendar.close_of_day`); ``seconds`` is then the least business
    time granted (0: the close alone). ``reply_window`` targets are always wall clock. Raises
    ``ValueError`` for a non-positive target or a ``warn_at`` outside (0, 1).
    """

    name: str
    seconds: float
    business_hours: bool
    applies_to: Applies
    complaints_only: bool
    warn_at: float = 0.75
    """The share of the target at which a warning is due."""
    kind: TargetKind = "first_response"
    until_close: bool = False

    def __post_init__(self) -> None:
        if (
            not math.isfinite(self.seconds)
            or self.seconds < 0
            or (self.seconds == 0 and not self.until_close)
        ):
            raise ValueError(f"SLA target {self.name!r}: seconds must be finite and positive")
        if not 0 < self.warn_at < 1:
            raise ValueError(f"SLA target {self.name!r}: warn_at must be between 0 and 1")
        if self.kind == "reply_window" and (self.business_hours or self.until_close):
            raise ValueError(f"SLA target {self.name!r}: a reply window is always wall clock")
        if self.until_close and not self.business_hours:
            raise ValueError(f"SLA target {self.name!r}: until_close needs business_hours")

    def applies(self, channel: Channel, complaint: bool) -> bool:
        return self.applies_to in ("any", channel) and (complaint or not self.complaints_only)


PUBLIC_COMPLAINT = SlaTarget("public_complaint", 2 * 3600, False, "public", True)
"""A public complaint answered within 2 hours, wall clock: about half of X users expect an answer to
a public post within 2 hours, nights and weekends included (figure from the issue "Threads,
response-time SLAs")."""
PRIVATE_SAME_DAY = SlaTarget("private_same_day", 0, True, "private", False, until_close=True)
"""A private message answered the same business day: most Facebook users expect an answer the same
day (issue "Threads, response-time SLAs"). Modelled as due at the close of the business day the
message arrived on; a message that arrives after that day's close (or on a closed day) is due at the
close of the next business day, so the team always has a working day to answer."""
MESSENGER_WINDOW = SlaTarget(
    "messenger_reply_window", 24 * 3600, False, "private", False, kind="reply_window"
)
"""Messenger's standard messaging window: 24 hours, wall clock, after the customer's last message;
after it the brand can no longer answer freely."""
DEFAULT_TARGETS: tuple[SlaTarget, ...] = (PUBLIC_COMPLAINT, PRIVATE_SAME_DAY, MESSENGER_WINDOW)


@dataclass(frozen=True, slots=True)
class Clock:
    """One target's clock on one thread at ``now``; datetimes are UTC. ``elapsed_seconds`` and
    ``remaining_seconds`` (negative once past due) count business or wall seconds per the target."""

    target: str
    started_at: datetime
    due_at: datetime
    warn_due_at: datetime
    stopped_at: datetime | None
    state: ClockState
    elapsed_seconds: float
    remaining_seconds: float


@dataclass(frozen=True, slots=True)
class SlaAlert:
    thread_key: str
    target: str
    kind: AlertKind
    due_at: datetime
    started_at: datetime

    @property
    def alert_id(self) -> str:
        """Deterministic: one alert per thread, target, kind and clock start."""
        return f"{self.thread_key}:{self.target}:{self.kind}:{self.started_at.isoformat()}"


def clock(
    target: SlaTarget,
    calendar: BusinessCalendar,
    started_at: datetime,
    answered_at: datetime | None,
    now: datetime,
) -> Clock:
    """The target's clock at ``now``. An answer later than ``now`` is not known yet and leaves the
    clock running. Raises ``ValueError`` for naive datetimes, an answer before the start, or a
    business-hours target on a calendar with no open time."""
    start, at = _aware(started_at), _aware(now)
    stop = None if answered_at is None or _aware(answered_at) > at else _aware(answered_at)
    if stop is not None and stop < start:
        raise ValueError(f"answer at {stop.isoformat()} precedes the clock start {start.isoformat()}")
    due = _due(target, calendar, start)
    measure = _measure(target, calendar)
    total = measure(start, due)
    warn = (
        calendar.add(start, total * target.warn_at)
        if target.business_hours
        else start + (due - start) * target.warn_at
    )
    elapsed = measure(start, stop or at)
    return Clock(target.name, start, due, warn, stop, _state(stop, at, due, warn), elapsed, total - elapsed)


def due_alerts(thread_key: str, clocks: Sequence[Clock], now: datetime) -> list[SlaAlert]:
    """The warnings and breaches due at ``now`` on clocks not stopped by then, oldest first. A
    breached clock yields its warning too, so a worker that starts late still sends both (each once,
    by ``alert_id``). An answered clock yields nothing: nobody should be paged for a handled thread."""
    at = _aware(now)
    alerts: list[SlaAlert] = []
    for c in clocks:
        if c.stopped_at is not None and c.stopped_at <= at:
            continue
        if c.warn_due_at <= at:
            alerts.append(SlaAlert(thread_key, c.target, "warning", c.warn_due_at, c.started_at))
        if c.due_at <= at:
            alerts.append(SlaAlert(thread_key, c.target, "breach", c.due_at, c.started_at))
    return sorted(alerts, key=lambda a: (a.due_at, a.target, a.kind == "breach"))


def _due(target: SlaTarget, calendar: BusinessCalendar, start: datetime) -> datetime:
    if not target.business_hours:
        return start + timedelta(seconds=target.seconds)
    due = calendar.add(start, target.seconds)
    return max(due, calendar.close_of_day(start)) if target.until_close else due


def _measure(target: SlaTarget, calendar: BusinessCalendar) -> _Measure:
    if target.business_hours:
        return calendar.elapsed
    return _wall


def _wall(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0)


def _state(stop: datetime | None, now: datetime, due: datetime, warn: datetime) -> ClockState:
    if stop is not None:
        return "met" if stop <= due else "missed"
    if now >= due:
        return "breached"
    return "warning" if now >= warn else "running"


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)

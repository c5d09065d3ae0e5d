"""Which business calendar and response targets hold for a brand, and the clocks they run on a
thread that waits for the brand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.threads.calendar import BusinessCalendar
from models.threads.fold import ThreadState
from models.threads.sla import Channel, Clock, SlaTarget, clock


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    default_calendar: BusinessCalendar
    default_targets: tuple[SlaTarget, ...]
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    targets: Mapping[str, tuple[SlaTarget, ...]] = field(default_factory=dict)
    stale_after: timedelta | None = None

    def calendar(self, brand: str) -> BusinessCalendar:
        return self.calendars.get(brand, self.default_calendar)

    def targets_for(self, brand: str) -> tuple[SlaTarget, ...]:
        return self.targets.get(brand, self.default_targets)

    def clocks(self, brand: str, state: ThreadState, public: bool, now: datetime) -> list[Clock]:
        """The clocks running on ``state`` at ``now``, most urgent first: none unless the thread
        waits for the brand (``new`` or ``awaiting_brand``). Response targets start at the oldest
        unanswered customer message, a reply window at the latest one."""
        waiting = state.awaiting_since
        if waiting is None:
            return []
        latest = max(t.at for t in state.turns if not t.from_brand)
        channel: Channel = "public" if public else "private"
        calendar = self.calendar(brand)
        clocks = [
            clock(target, calendar, latest if target.kind == "reply_window" else waiting, None, now)
            for target in self.targets_for(brand)
            if target.applies(channel, state.complaints > 0)
        ]
        return sorted(clocks, key=lambda c: (c.due_at, c.target))

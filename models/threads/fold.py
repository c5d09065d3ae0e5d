"""The thread fold: messages into the tally of the conversation they belong to.

Pure and idempotent: a message already counted (by id) changes nothing, so a redelivered batch
leaves the thread as it was, and the result does not depend on arrival order. The brand's first
response is its first reply after the first customer message; service teams are measured on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

MAX_TRACKED_IDS = 10_000
"""Ids kept per thread for de-duplication; past this a thread counts without checking."""
MAX_REPLY_TIMES = 50
"""Earliest brand replies kept: enough to find the first response whatever the arrival order."""

ThreadStatus = Literal["awaiting_response", "answered", "brand_only"]


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a conversation, as the fold needs it."""

    id: str
    created_at: datetime
    from_brand: bool
    sentiment: str
    complaint: bool
    category: str | None


@dataclass(frozen=True, slots=True)
class ThreadState:
    """What a thread has counted so far; the first response and the status derive from it."""

    started_at: datetime
    last_activity_at: datetime
    mentions: int = 0
    customer_mentions: int = 0
    brand_replies: int = 0
    negative: int = 0
    complaints: int = 0
    categories: Mapping[str, int] = field(default_factory=dict)
    first_customer_at: datetime | None = None
    brand_reply_times: tuple[datetime, ...] = ()
    mention_ids: tuple[str, ...] = ()

    @property
    def first_response_at(self) -> datetime | None:
        if self.first_customer_at is None:
            return None
        first = self.first_customer_at
        return min((t for t in self.brand_reply_times if t > first), default=None)

    @property
    def first_response_seconds(self) -> float | None:
        response = self.first_response_at
        if response is None or self.first_customer_at is None:
            return None
        return (response - self.first_customer_at).total_seconds()

    @property
    def status(self) -> ThreadStatus:
        if self.first_customer_at is None:
            return "brand_only"
        return "answered" if self.first_response_at is not None else "awaiting_response"


@dataclass(slots=True)
class _Tally:
    started_at: datetime
    last_activity_at: datetime
    mentions: int
    customer_mentions: int
    brand_replies: int
    negative: int
    complaints: int
    categories: Counter[str]
    first_customer_at: datetime | None
    reply_times: list[datetime]
    ids: list[str]

    @classmethod
    def of(cls, s: ThreadState) -> _Tally:
        return cls(
            s.started_at,
            s.last_activity_at,
            s.mentions,
            s.customer_mentions,
            s.brand_replies,
            s.negative,
            s.complaints,
            Counter(s.categories),
            s.first_customer_at,
            list(s.brand_reply_times),
            list(s.mention_ids),
        )

    def add(self, m: ThreadMessage) -> None:
        self.mentions += 1
        self.started_at = min(self.started_at, m.created_at)
        self.last_activity_at = max(self.last_activity_at, m.created_at)
        if m.from_brand:
            self.brand_replies += 1
            self.reply_times = sorted([*self.reply_times, m.created_at])[:MAX_REPLY_TIMES]
            return
        self.customer_mentions += 1
        if self.first_customer_at is None or m.created_at < self.first_customer_at:
            self.first_customer_at = m.created_at
        if m.sentiment == "negative":
            self.negative += 1
        if m.complaint:
            self.complaints += 1
            self.categories[m.category or "other"] += 1

    def state(self) -> ThreadState:
        return ThreadState(
            started_at=self.started_at,
            last_activity_at=self.last_activity_at,
            mentions=self.mentions,
            customer_mentions=self.customer_mentions,
            brand_replies=self.brand_replies,
            negative=self.negative,
            complaints=self.complaints,
            categories=dict(self.categories),
            first_customer_at=self.first_customer_at,
            brand_reply_times=tuple(self.reply_times),
            mention_ids=tuple(self.ids),
        )


def fold(state: ThreadState | None, messages: Iterable[ThreadMessage]) -> ThreadState:
    """``state`` (None for a new thread) plus the messages it has not counted yet.

    Raises ``ValueError`` when there is neither a state nor a message to start from.
    """
    batch = list(messages)
    if state is None:
        if not batch:
            raise ValueError("fold needs a thread state or at least one message")
        state = ThreadState(batch[0].created_at, batch[0].created_at)
    tally = _Tally.of(state)
    seen = set(tally.ids)
    for message in batch:
        if message.id in seen:
            continue
        seen.add(message.id)
        if len(tally.ids) < MAX_TRACKED_IDS:
            tally.ids.append(message.id)
        tally.add(message)
    return tally.state()

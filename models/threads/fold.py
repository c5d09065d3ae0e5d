"""The thread fold: messages into the tally of the conversation they belong to.

Pure and idempotent: a message already counted (by id) changes nothing, so a redelivered batch
leaves the thread as it was, and the result does not depend on arrival order. The brand's first
response is its first reply after the first customer message; service teams are measured on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from models.threads.status import Change, Turn, history

MAX_TRACKED_IDS = 10_000
"""Ids kept per thread for de-duplication; past this a thread counts without checking."""
MAX_REPLY_TIMES = 50
"""Earliest brand replies kept: enough to find the first response whatever the arrival order."""
MAX_TURNS = 1_000
"""Latest turns kept for the status history and the response clocks."""
MAX_PARTICIPANTS = 200

SENTIMENT_ORDER = {"positive": 0, "neutral": 1, "unscored": 1, "negative": 2}


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a conversation, as the fold needs it."""

    id: str
    created_at: datetime
    from_brand: bool
    sentiment: str
    complaint: bool
    category: str | None
    author_id: str = ""
    closes: bool = False
    """A brand reply that closes the case, or a customer's thanks (:mod:`models.threads.replies`)."""
    actions: tuple[str, ...] = ()
    """What a brand reply did."""

    def turn(self) -> Turn:
        return Turn(self.id, self.created_at, self.from_brand, self.sentiment, self.closes, self.actions)


@dataclass(frozen=True, slots=True)
class Trajectory:
    """The customers' sentiment: in their first message, their latest, and the worst."""

    first: str
    latest: str
    worst: str


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
    turns: tuple[Turn, ...] = ()
    participants: tuple[str, ...] = ()
    resolved_at: tuple[datetime, ...] = ()
    """Times of resolve commands."""

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

    def history(
        self, stale_after: timedelta | None = None, now: datetime | None = None
    ) -> tuple[Change, ...]:
        return history(self.turns, self.resolved_at, stale_after, now)

    def status(self, stale_after: timedelta | None = None, now: datetime | None = None) -> Change | None:
        """The current status and since when; None for a thread with no turns (older documents)."""
        changes = self.history(stale_after, now)
        return changes[-1] if changes else None

    @property
    def sentiment(self) -> Trajectory | None:
        said = [t for t in self.turns if not t.from_brand]
        if not said:
            return None
        worst = max(said, key=lambda t: SENTIMENT_ORDER.get(t.sentiment, 1)).sentiment
        return Trajectory(said[0].sentiment, said[-1].sentiment, worst)

    @property
    def awaiting_since(self) -> datetime | None:
        """The oldest customer message after the brand's last reply (or resolution): where the
        next-response clock starts, as Zendesk and Chatwoot define it. None when nothing waits."""
        last = self.status()
        if last is None or last.status not in ("new", "awaiting_brand"):
            return None
        return min(t.at for t in self.turns if not t.from_brand and t.at >= last.at)

    def reply_actions(self) -> tuple[frozenset[str], ...]:
        return tuple(frozenset(t.actions) for t in self.turns if t.from_brand)

    @property
    def removed_mentions(self) -> int:
        return sum(t.removed for t in self.turns)

    def mark_removed(self, ids: Iterable[str]) -> ThreadState:
        """The thread with these messages marked removed (deleted or hidden on the platform); they
        stay in it, and in its counts."""
        gone = set(ids)
        turns = tuple(replace(t, removed=True) if t.id in gone else t for t in self.turns)
        return self if turns == self.turns else replace(self, turns=turns)

    def resolve(self, at: datetime) -> ThreadState:
        """The thread resolved by a command at ``at`` (idempotent)."""
        if at in self.resolved_at:
            return self
        return replace(self, resolved_at=tuple(sorted((*self.resolved_at, at))))


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
    turns: list[Turn]
    participants: set[str]
    resolved_at: tuple[datetime, ...]

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
            list(s.turns),
            set(s.participants),
            s.resolved_at,
        )

    def add(self, m: ThreadMessage) -> None:
        self.mentions += 1
        self.started_at = min(self.started_at, m.created_at)
        self.last_activity_at = max(self.last_activity_at, m.created_at)
        self.turns.append(m.turn())
        if m.from_brand:
            self.brand_replies += 1
            self.reply_times = sorted([*self.reply_times, m.created_at])[:MAX_REPLY_TIMES]
            return
        self.customer_mentions += 1
        if m.author_id:
            self.participants.add(m.author_id)
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
            turns=tuple(sorted(self.turns, key=lambda t: (t.at, t.id))[-MAX_TURNS:]),
            participants=tuple(sorted(self.participants)[:MAX_PARTICIPANTS]),
            resolved_at=self.resolved_at,
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

"""Thread assembly: fold scored mentions into the conversation they belong to.

Pure and idempotent: a mention already counted (by id) changes nothing, so a redelivered batch
leaves the thread as it was, and the result does not depend on arrival order. The brand's first
response is its first reply after the first customer mention; service teams are measured on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from streams.contracts.records import RawMention, ScoredMention, Thread, ThreadStatus

MAX_TRACKED_IDS = 10_000
"""Ids kept per thread for de-duplication; past this a thread counts without checking."""
MAX_REPLY_TIMES = 50


@dataclass(slots=True)
class _Tally:
    started_at: datetime
    last_activity_at: datetime
    mentions: int = 0
    customer_mentions: int = 0
    brand_replies: int = 0
    negative: int = 0
    complaints: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    first_customer_at: datetime | None = None
    reply_times: list[datetime] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, thread: Thread) -> _Tally:
        return cls(
            started_at=thread.started_at,
            last_activity_at=thread.last_activity_at,
            mentions=thread.mentions,
            customer_mentions=thread.customer_mentions,
            brand_replies=thread.brand_replies,
            negative=thread.negative,
            complaints=thread.complaints,
            categories=Counter(thread.categories),
            first_customer_at=thread.first_customer_at,
            reply_times=list(thread.brand_reply_times),
            ids=list(thread.mention_ids),
        )

    def add(self, scored: ScoredMention) -> None:
        m, s = scored.mention, scored.scores
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
        if s.sentiment == "negative":
            self.negative += 1
        if s.complaint:
            self.complaints += 1
            self.categories[s.category or "other"] += 1

    def first_response(self) -> datetime | None:
        if self.first_customer_at is None:
            return None
        after = [t for t in self.reply_times if t > self.first_customer_at]
        return min(after, default=None)


def merge(thread: Thread | None, mentions: Iterable[ScoredMention]) -> Thread:
    """``thread`` (None for a new one) plus the mentions it has not counted yet."""
    batch = list(mentions)
    if thread is None and not batch:
        raise ValueError("merge needs a thread or at least one mention")
    root = batch[0].mention if thread is None else None
    if thread is not None:
        tally = _Tally.of(thread)
    else:
        assert root is not None
        tally = _Tally(root.created_at, root.created_at)
    seen = set(tally.ids)
    for scored in batch:
        mention_id = scored.mention.mention_id
        if mention_id in seen:
            continue
        seen.add(mention_id)
        if len(tally.ids) < MAX_TRACKED_IDS:
            tally.ids.append(mention_id)
        tally.add(scored)
    return _thread(thread, root, tally)


def _thread(previous: Thread | None, root: RawMention | None, t: _Tally) -> Thread:
    response = t.first_response()
    seconds = (response - t.first_customer_at).total_seconds() if response and t.first_customer_at else None
    status: ThreadStatus
    if t.first_customer_at is None:
        status = "brand_only"
    else:
        status = "answered" if response is not None else "awaiting_response"
    if previous is not None:
        identity = previous.model_dump(include={"key", "brand", "platform", "root_id", "channel", "source"})
    else:
        assert root is not None
        identity = {
            "key": root.thread_key,
            "brand": root.brand,
            "platform": root.platform,
            "root_id": root.thread_id or root.native_id,
            "channel": root.channel,
            "source": root.source,
        }
    return Thread(
        **identity,
        started_at=t.started_at,
        last_activity_at=t.last_activity_at,
        mentions=t.mentions,
        customer_mentions=t.customer_mentions,
        brand_replies=t.brand_replies,
        negative=t.negative,
        complaints=t.complaints,
        categories=dict(t.categories),
        first_customer_at=t.first_customer_at,
        first_response_at=response,
        first_response_seconds=seconds,
        brand_reply_times=tuple(t.reply_times),
        status=status,
        mention_ids=tuple(t.ids),
    )

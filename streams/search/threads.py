"""Threads as the indexer keeps them: the wire :class:`Thread` record, folded by the pure logic in
:mod:`models.threads.fold`. The one place that converts between the two."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from models.threads.fold import ThreadMessage, ThreadState, fold
from models.threads.policy import SlaPolicy
from models.threads.replies import ReplyAction, closes_thread, customer_thanks, reply_actions, reply_mistakes
from models.threads.sla import Clock
from models.threads.status import Turn
from streams.contracts.records import (
    Channel,
    RawMention,
    ScoredMention,
    SentimentTrajectory,
    StatusChange,
    Thread,
    ThreadStatus,
    ThreadTurn,
)

_IDENTITY = {"key", "brand", "platform", "root_id", "channel", "source"}


def merge(thread: Thread | None, mentions: Iterable[ScoredMention]) -> Thread:
    """``thread`` (None for a new one, named after the first mention) plus the mentions it has not
    counted yet. Raises ``ValueError`` when given neither."""
    batch = list(mentions)
    state = fold(None if thread is None else state_of(thread), [_message(s) for s in batch])
    identity = thread.model_dump(include=_IDENTITY) if thread is not None else _identity(batch[0].mention)
    return _thread(identity, state, thread)


def mark_removed(thread: Thread, mention_ids: Iterable[str]) -> Thread:
    """``thread`` with these of its messages marked removed (they stay in it)."""
    return _thread(thread.model_dump(include=_IDENTITY), state_of(thread).mark_removed(mention_ids), thread)


def resolve(thread: Thread, at: datetime) -> Thread:
    """``thread`` resolved by a command at ``at``; a later customer message opens it again."""
    return _thread(thread.model_dump(include=_IDENTITY), state_of(thread).resolve(at), thread)


def _thread(identity: dict[str, Any], state: ThreadState, previous: Thread | None) -> Thread:
    changes = state.history()
    public = identity["channel"] == Channel.PUBLIC
    actions = [frozenset(ReplyAction(a) for a in reply) for reply in state.reply_actions()]
    trajectory = state.sentiment
    return Thread(
        **identity,
        started_at=state.started_at,
        last_activity_at=state.last_activity_at,
        mentions=state.mentions,
        customer_mentions=state.customer_mentions,
        brand_replies=state.brand_replies,
        negative=state.negative,
        complaints=state.complaints,
        categories=dict(state.categories),
        first_customer_at=state.first_customer_at,
        first_response_at=state.first_response_at,
        first_response_seconds=state.first_response_seconds,
        brand_reply_times=state.brand_reply_times,
        status=_legacy_status(state) if not changes else changes[-1].status,
        status_changed_at=changes[-1].at if changes else None,
        status_history=tuple(StatusChange(status=c.status, at=c.at) for c in changes),
        public=public,
        participants=state.participants,
        sentiment=None if trajectory is None else SentimentTrajectory(**asdict(trajectory)),
        reply_actions=tuple(sorted(set().union(*actions))),
        reply_mistakes=tuple(sorted(reply_mistakes(public, actions))),
        awaiting_since=state.awaiting_since,
        removed_mentions=state.removed_mentions,
        mention_ids=state.mention_ids,
        turns=tuple(ThreadTurn(**asdict(t)) for t in state.turns),
        resolved_at=state.resolved_at,
        alerts_sent=() if previous is None else previous.alerts_sent,
    )


def _legacy_status(state: ThreadState) -> ThreadStatus:
    """For a thread document written before turns were kept, from its counts."""
    if state.first_customer_at is None or state.first_response_at is not None:
        return "awaiting_customer"
    return "new"


def _message(scored: ScoredMention) -> ThreadMessage:
    m, s = scored.mention, scored.scores
    lang = s.lang or ""
    if m.from_brand:
        actions = tuple(sorted(reply_actions(m.text, lang)))
        closes = closes_thread(m.text, lang)
    else:
        actions, closes = (), customer_thanks(m.text, lang)
    return ThreadMessage(
        m.mention_id,
        m.created_at,
        m.from_brand,
        s.sentiment,
        s.complaint,
        s.category,
        author_id=m.author.id,
        closes=closes,
        actions=actions,
    )


@dataclass(frozen=True, slots=True)
class Service:
    """How the brand is doing on a thread at a moment: the most urgent response clock running (None
    when the thread does not wait for the brand) and the first response in business time."""

    clock: Clock | None
    first_response_business_seconds: float | None


def service(thread: Thread, policy: SlaPolicy, now: datetime) -> Service:
    state = state_of(thread)
    clocks = policy.clocks(thread.brand, state, thread.public, now)
    business = None
    if thread.first_customer_at is not None and thread.first_response_at is not None:
        business = policy.calendar(thread.brand).elapsed(thread.first_customer_at, thread.first_response_at)
    return Service(clocks[0] if clocks else None, business)


def state_of(thread: Thread) -> ThreadState:
    return ThreadState(
        started_at=thread.started_at,
        last_activity_at=thread.last_activity_at,
        mentions=thread.mentions,
        customer_mentions=thread.customer_mentions,
        brand_replies=thread.brand_replies,
        negative=thread.negative,
        complaints=thread.complaints,
        categories=thread.categories,
        first_customer_at=thread.first_customer_at,
        brand_reply_times=thread.brand_reply_times,
        mention_ids=thread.mention_ids,
        turns=tuple(Turn(**t.model_dump()) for t in thread.turns),
        participants=thread.participants,
        resolved_at=thread.resolved_at,
    )


def _identity(root: RawMention) -> dict[str, Any]:
    return {
        "key": root.thread_key,
        "brand": root.brand,
        "platform": root.platform,
        "root_id": root.thread_id or root.native_id,
        "channel": root.channel,
        "source": root.source,
    }

"""Threads as the indexer keeps them: the wire :class:`Thread` record, folded by the pure logic in
:mod:`models.threads.fold`. The one place that converts between the two."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from models.threads.fold import ThreadMessage, ThreadState, fold
from streams.contracts.records import RawMention, ScoredMention, Thread

_IDENTITY = {"key", "brand", "platform", "root_id", "channel", "source"}


def merge(thread: Thread | None, mentions: Iterable[ScoredMention]) -> Thread:
    """``thread`` (None for a new one, named after the first mention) plus the mentions it has not
    counted yet. Raises ``ValueError`` when given neither."""
    batch = list(mentions)
    state = fold(None if thread is None else _state(thread), [_message(s) for s in batch])
    identity = thread.model_dump(include=_IDENTITY) if thread is not None else _identity(batch[0].mention)
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
        status=state.status,
        mention_ids=state.mention_ids,
    )


def _message(scored: ScoredMention) -> ThreadMessage:
    m, s = scored.mention, scored.scores
    return ThreadMessage(m.mention_id, m.created_at, m.from_brand, s.sentiment, s.complaint, s.category)


def _state(thread: Thread) -> ThreadState:
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

"""Builders for records used across tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from streams.contracts.records import Author, RawMention, ScoredMention, Scores

T0 = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)


def mention(n: int = 1, minutes: float = 0, **fields: Any) -> RawMention:
    values: dict[str, Any] = {
        "platform": "facebook",
        "native_id": f"c{n}",
        "brand": "zakupowo",
        "author": Author(id=f"u{n}", name="Anna K.", followers=120),
        "text": f"tekst {n}",
        "created_at": T0 + timedelta(minutes=minutes),
        "thread_id": "post1",
        "parent_id": "post1",
    }
    values.update(fields)
    return RawMention.model_validate(values)


def scored(
    m: RawMention,
    sentiment: str = "negative",
    complaint: bool = True,
    category: str | None = "payment",
) -> ScoredMention:
    scores = Scores(
        lang="pl",
        sentiment=sentiment,
        sentiment_scores={
            "negative": 0.9,
            "neutral": 0.05,  # type: ignore[arg-type]
            "positive": 0.05,
        },
        complaint=complaint,
        complaint_score=0.9 if complaint else 0.1,
        category=category if complaint else None,
        model="test:1",
    )
    return ScoredMention(mention=m, scores=scores, scored_at=T0 + timedelta(hours=1))

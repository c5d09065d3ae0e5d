"""Representative mentions of an incident: the most reached and the most negative, interleaved."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Why = Literal["reach", "negative"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A mention that may represent an incident."""

    mention_id: str
    text: str = ""
    followers: int | None = None
    negative: float | None = None
    """The model's negative probability."""
    created_at: datetime | None = None
    url: str | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Pick:
    candidate: Candidate
    why: Why


def _by_reach(c: Candidate) -> tuple[float, float, float, str]:
    return (-(c.followers or 0), -(c.negative or 0.0), _time(c), c.mention_id)


def _by_negative(c: Candidate) -> tuple[float, float, float, str]:
    return (-(c.negative or 0.0), -(c.followers or 0), _time(c), c.mention_id)


def _time(c: Candidate) -> float:
    return c.created_at.timestamp() if c.created_at is not None else math.inf


def _text_key(text: str) -> str:
    return " ".join(text.lower().split())


def pick(candidates: Sequence[Candidate], n: int = 5) -> list[Pick]:
    """Up to ``n`` mentions: the most reached (followers), then the most negative, alternating,
    each mention (and each text: copies and retweets) at most once. Ties: earlier, then by id."""
    orders: list[tuple[Why, Callable[[Candidate], tuple[float, float, float, str]]]] = [
        ("reach", _by_reach),
        ("negative", _by_negative),
    ]
    queues = [(why, sorted(candidates, key=key)) for why, key in orders]
    positions = [0, 0]
    ids: set[str] = set()
    texts: set[str] = set()
    out: list[Pick] = []
    while len(out) < n and any(p < len(q) for p, (_, q) in zip(positions, queues, strict=True)):
        for i, (why, queue) in enumerate(queues):
            while positions[i] < len(queue) and len(out) < n:
                chosen = queue[positions[i]]
                positions[i] += 1
                text = _text_key(chosen.text)
                if chosen.mention_id in ids or (text and text in texts):
                    continue
                ids.add(chosen.mention_id)
                if text:
                    texts.add(text)
                out.append(Pick(chosen, why))
                break
    return out

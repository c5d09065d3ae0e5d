"""Representative mentions: the most reached and the most negative, interleaved, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.incidents.representatives import Candidate, pick

T0 = datetime(2026, 11, 19, 13, 0, tzinfo=UTC)


def c(
    ident: str, followers: int | None, negative: float | None, minute: int = 0, text: str = ""
) -> Candidate:
    return Candidate(ident, text or f"text {ident}", followers, negative, T0 + timedelta(minutes=minute))


CANDIDATES = [
    c("quiet-angry", 10, 0.99),
    c("star", 500_000, 0.6),
    c("mid", 5_000, 0.8),
    c("angry", 50, 0.97),
    c("big", 80_000, 0.7),
]


def test_reach_and_negativity_alternate() -> None:
    picked = pick(CANDIDATES, 4)
    assert [(p.candidate.mention_id, p.why) for p in picked] == [
        ("star", "reach"),
        ("quiet-angry", "negative"),
        ("big", "reach"),
        ("angry", "negative"),
    ]


def test_each_mention_and_each_text_once() -> None:
    both = c("both", 900_000, 1.0)
    copy = c("copy", 700_000, 0.5, text="text both")
    picked = pick([both, copy, *CANDIDATES], 3)
    assert [p.candidate.mention_id for p in picked] == ["both", "quiet-angry", "star"]
    assert len(pick(CANDIDATES, 10)) == len(CANDIDATES)


def test_missing_figures_and_ties() -> None:
    early, late = c("b", None, None, 0), c("a", None, None, 5)
    assert [p.candidate.mention_id for p in pick([late, early], 2)] == ["b", "a"]
    assert pick([], 5) == []

"""A fixed scorer with the real ``Scorer.score`` interface: fast, deterministic, no model.

Rules on the text (case-insensitive): "nie dziala", "broken", "refund", "csomag" -> a complaint
(negative, category by keyword); "super", "great", "dziekuje" -> positive; anything else neutral.
A text containing ``BOOM`` makes the scorer raise, to exercise the worker's error path.
``delay_s`` (per batch) lets tests make scoring slow; it can be changed while the worker runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from models.labels import Category
from models.scores import Score, ScoreRequest

COMPLAINT_WORDS = {
    "blik": Category.PAYMENT,
    "payment": Category.PAYMENT,
    "kurier": Category.DELIVERY,
    "csomag": Category.DELIVERY,
    "refund": Category.RETURNS_REFUNDS,
    "broken": Category.PRODUCT_QUALITY,
    "nie dziala": Category.WEBSITE_OUTAGE,
}
PRAISE_WORDS = ("super", "great", "dziekuje", "koszonom")


class ScorerFailure(RuntimeError):
    """Raised for a text containing ``BOOM``."""


class FixedScorer:
    model_id = "fixed:1"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.batches = 0

    def score(self, requests: Sequence[ScoreRequest]) -> list[Score]:
        self.batches += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        return [self._one(r) for r in requests]

    def _one(self, request: ScoreRequest) -> Score:
        text = request.text.lower()
        if "boom" in text:
            raise ScorerFailure(f"cannot score {request.text[:20]!r}")
        lang = (request.lang or "pl")[:2]
        category = next((c for word, c in COMPLAINT_WORDS.items() if word in text), None)
        if category is not None:
            return self._score(lang, "negative", True, category)
        sentiment = "positive" if any(w in text for w in PRAISE_WORDS) else "neutral"
        return self._score(lang, sentiment, False, None)

    def _score(self, lang: str, sentiment: str, complaint: bool, category: Category | None) -> Score:
        probabilities = {s: (0.9 if s == sentiment else 0.05) for s in ("negative", "neutral", "positive")}
        return Score(
            lang=lang,
            sentiment=sentiment,
            sentiment_scores=probabilities,
            complaint=complaint,
            complaint_score=0.9 if complaint else 0.1,
            category=category,
            model=self.model_id,
        )

"""The scorer: language decision, then the backend, for a batch of mentions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.backends import Backend
from models.labels import UNSCORED, Category
from models.language import LanguageDecision, LanguageDetector


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    text: str
    lang: str | None = None
    """Optional language hint (ISO 639-1, ``pl-PL`` style accepted)."""


@dataclass(frozen=True, slots=True)
class Score:
    """One text's result. ``sentiment`` is ``unscored`` exactly when ``unscored_reason`` is set;
    then the scores are empty and ``complaint_score`` is None.
    """

    lang: str | None
    sentiment: str
    sentiment_scores: dict[str, float]
    complaint: bool
    complaint_score: float | None
    category: Category | None
    model: str
    unscored_reason: str | None = None
    category_scores: dict[str, float] = field(default_factory=dict)
    """The category head's distribution, kept even when the text is not a complaint."""

    @property
    def scored(self) -> bool:
        return self.unscored_reason is None


class Scorer:
    """Scores batches. ``score`` is CPU-bound and blocks: run it in an executor in async code."""

    def __init__(self, backend: Backend, detector: LanguageDetector) -> None:
        self.backend = backend
        self.detector = detector

    @property
    def model_id(self) -> str:
        return self.backend.model_id

    def score(self, requests: Sequence[ScoreRequest]) -> list[Score]:
        decisions = [self.detector.decide(r.text, r.lang) for r in requests]
        todo = [i for i, d in enumerate(decisions) if d.scorable]
        predictions = self.backend.predict([requests[i].text for i in todo])
        results: list[Score] = [self._unscored(d) for d in decisions]
        for i, p in zip(todo, predictions, strict=True):
            results[i] = Score(
                lang=decisions[i].lang,
                sentiment=p.sentiment.value,
                sentiment_scores=p.sentiment_scores,
                complaint=p.complaint,
                complaint_score=p.complaint_score,
                category=p.category,
                model=self.model_id,
                category_scores=p.category_scores,
            )
        return results

    def _unscored(self, decision: LanguageDecision) -> Score:
        return Score(
            lang=decision.lang,
            sentiment=UNSCORED,
            sentiment_scores={},
            complaint=False,
            complaint_score=None,
            category=None,
            model=self.model_id,
            unscored_reason=decision.reason,
        )

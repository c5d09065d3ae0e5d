"""What a scorer is asked and what it answers: light to import (no torch), so code that only
passes scores around does not load the model code."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.labels import Category


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
    uncertain: bool = False
    """Scored, but the model's confidence in its sentiment or its complaint decision is below the
    configured threshold: for the crisis room to review."""

    @property
    def confidence(self) -> float | None:
        """The lower of the top sentiment probability and the probability of the complaint
        decision taken; None when unscored."""
        if self.complaint_score is None or not self.sentiment_scores:
            return None
        decision = max(self.complaint_score, 1.0 - self.complaint_score)
        return min(max(self.sentiment_scores.values()), decision)

    @property
    def scored(self) -> bool:
        return self.unscored_reason is None

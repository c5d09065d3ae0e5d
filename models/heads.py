"""Linear heads over encoder features: a joint stance head and a complaint-category head."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.labels import CATEGORIES, SENTIMENTS, STANCES, Category, Sentiment, Stance

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Prediction:
    sentiment: Sentiment
    sentiment_scores: dict[str, float]
    complaint: bool
    complaint_score: float
    category: Category | None
    category_scores: dict[str, float]


@dataclass(frozen=True, slots=True)
class Heads:
    """``stance_*`` maps features to the four :class:`Stance` classes, ``category_*`` to
    the eight categories. Weights are ``[classes, features]``, as ``torch.nn.Linear`` stores them.
    """

    stance_weight: Floats
    stance_bias: Floats
    category_weight: Floats
    category_bias: Floats
    complaint_threshold: float = 0.5
    temperature: float = 1.0
    """The stance logits are divided by this before the softmax: fitted after training on held-out
    examples so that the probabilities mean what they say (temperature scaling, Guo et al. 2017)."""

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError("temperature must be positive")
        if self.stance_weight.shape[0] != len(STANCES):
            raise ValueError("stance head must have one row per stance")
        if self.category_weight.shape[0] != len(CATEGORIES):
            raise ValueError("category head must have one row per category")
        if self.stance_weight.shape[1] != self.category_weight.shape[1]:
            raise ValueError("heads disagree on the feature size")

    @property
    def feature_dim(self) -> int:
        return int(self.stance_weight.shape[1])

    def predict(self, features: Floats) -> list[Prediction]:
        stance = softmax(self.stance_logits(features) / np.float32(self.temperature))
        category = softmax(features @ self.category_weight.T + self.category_bias)
        return [self._one(s, c) for s, c in zip(stance, category, strict=True)]

    def stance_logits(self, features: Floats) -> Floats:
        out: Floats = features @ self.stance_weight.T + self.stance_bias
        return out

    def _one(self, stance: Floats, category: Floats) -> Prediction:
        p = dict(zip(STANCES, (float(x) for x in stance), strict=True))
        sentiment_scores = {
            Sentiment.NEGATIVE.value: p[Stance.COMPLAINT] + p[Stance.OTHER_NEGATIVE],
            Sentiment.NEUTRAL.value: p[Stance.NEUTRAL],
            Sentiment.POSITIVE.value: p[Stance.POSITIVE],
        }
        sentiment = Sentiment(max(sentiment_scores, key=lambda k: sentiment_scores[k]))
        complaint = p[Stance.COMPLAINT] >= self.complaint_threshold
        category_scores = {c.value: float(x) for c, x in zip(CATEGORIES, category, strict=True)}
        return Prediction(
            sentiment=sentiment,
            sentiment_scores=sentiment_scores,
            complaint=complaint,
            complaint_score=p[Stance.COMPLAINT],
            category=CATEGORIES[int(np.argmax(category))] if complaint else None,
            category_scores=category_scores,
        )


def softmax(logits: Floats) -> Floats:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    out: Floats = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return out


__all__ = ["SENTIMENTS", "Heads", "Prediction", "softmax"]

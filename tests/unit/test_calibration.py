"""Temperature scaling after training, the held-out split it is fitted on, and the ``uncertain``
mark the scorer puts on low-confidence scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch

from models.corpus import Split, load_split
from models.heads import Prediction
from models.labels import Category, Sentiment
from models.language import DetectionOptions, LanguageDetector
from models.scorer import Scorer
from models.scores import ScoreRequest
from models.training import fit_temperature, holdout, length_batches, warmup_share


def test_fit_temperature_recovers_the_temperature_that_generated_the_labels() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, size=(4000, 4))
    true_t = 2.5  # the logits are overconfident by this factor
    scaled = np.exp(logits / true_t)
    probs = scaled / scaled.sum(axis=1, keepdims=True)
    truth = np.array([rng.choice(4, p=p) for p in probs])
    assert fit_temperature(logits, truth) == pytest.approx(true_t, rel=0.1)


def test_holdout_is_stable_spread_and_disjoint() -> None:
    train = load_split(Split.TRAIN)
    kept, held = holdout(train, 0.1)
    assert len(kept) + len(held) == len(train)
    assert not {e.id for e in kept} & {e.id for e in held}
    assert 0.07 * len(train) < len(held) < 0.13 * len(train)
    assert {e.lang for e in held} == {"pl", "hu", "en"}
    assert {e.stance for e in held} == {e.stance for e in train}
    assert holdout(list(reversed(train)), 0.1)[1] == list(reversed(held))
    assert holdout(train, 0.0) == (train, [])


def test_length_batches_cover_every_index_once_with_little_padding() -> None:
    rng = np.random.default_rng(3)
    lengths = [int(x) for x in rng.integers(5, 300, size=1000)]
    batches = length_batches(rng.permutation(1000), lengths, 16, 8, rng)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert len(batches) == 63 and all(len(b) == 16 for b in batches[:-1] if len(b) != 8)
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    assert spread < 60  # random batches of 16 span about 250


class _Fixed:
    model_id = "fixed"

    def __init__(self, complaint_score: float, top_sentiment: float) -> None:
        self.complaint_score, self.top = complaint_score, top_sentiment

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        rest = (1 - self.top) / 2
        return [
            Prediction(
                sentiment=Sentiment.NEGATIVE,
                sentiment_scores={"negative": self.top, "neutral": rest, "positive": rest},
                complaint=self.complaint_score >= 0.5,
                complaint_score=self.complaint_score,
                category=Category.DELIVERY if self.complaint_score >= 0.5 else None,
                category_scores={},
            )
            for _ in texts
        ]


@pytest.mark.parametrize(
    ("complaint_score", "top", "uncertain"),
    [(0.95, 0.95, False), (0.55, 0.95, True), (0.05, 0.9, False), (0.9, 0.5, True), (0.3, 0.7, False)],
)
def test_scores_below_the_threshold_are_marked_uncertain(
    complaint_score: float, top: float, uncertain: bool
) -> None:
    scorer = Scorer(_Fixed(complaint_score, top), LanguageDetector(DetectionOptions()), uncertain_below=0.6)
    (score,) = scorer.score([ScoreRequest("Paczka nie dotarła od dwóch tygodni", "pl")])
    assert score.scored and score.uncertain is uncertain
    assert score.confidence == pytest.approx(min(top, max(complaint_score, 1 - complaint_score)))
    off = Scorer(_Fixed(complaint_score, top), LanguageDetector(DetectionOptions()), uncertain_below=0.0)
    assert not off.score([ScoreRequest("Paczka nie dotarła", "pl")])[0].uncertain


def test_unscored_texts_are_not_uncertain() -> None:
    scorer = Scorer(_Fixed(0.5, 0.4), LanguageDetector(DetectionOptions()), uncertain_below=0.9)
    (score,) = scorer.score([ScoreRequest("", None)])
    assert not score.scored and not score.uncertain and score.confidence is None


@pytest.mark.parametrize("total_steps", [1, 2, 3, 10, 11, 20, 7440])
def test_the_learning_rate_schedule_runs_every_step_of_a_short_training(total_steps: int) -> None:
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([weight], lr=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.01, total_steps=total_steps, pct_start=warmup_share(total_steps)
    )
    for _ in range(total_steps):
        optimizer.step()
        schedule.step()
    assert schedule.last_epoch == total_steps
    assert warmup_share(7440) == 0.1  # the shipped weights' schedule is unchanged

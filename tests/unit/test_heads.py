import dataclasses

import numpy as np
import pytest

from models.heads import Heads, softmax
from models.labels import CATEGORIES, STANCES, Category, Sentiment, Stance


def heads_with_bias(stance_bias: list[float], category: Category = Category.PAYMENT) -> Heads:
    dim = 6
    cat_bias = np.zeros(len(CATEGORIES), np.float32)
    cat_bias[CATEGORIES.index(category)] = 3.0
    return Heads(
        stance_weight=np.zeros((len(STANCES), dim), np.float32),
        stance_bias=np.array(stance_bias, np.float32),
        category_weight=np.zeros((len(CATEGORIES), dim), np.float32),
        category_bias=cat_bias,
    )


def test_softmax_rows_sum_to_one_and_are_stable() -> None:
    p = softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]], np.float32))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p[1], [0.25, 0.75], rtol=1e-5)


def test_complaint_stance_gives_negative_complaint_with_category() -> None:
    (pred,) = heads_with_bias([4.0, 0.0, 0.0, 0.0]).predict(np.zeros((1, 6), np.float32))
    assert pred.sentiment is Sentiment.NEGATIVE and pred.complaint
    assert pred.category is Category.PAYMENT
    assert pred.complaint_score == pytest.approx(np.exp(4) / (np.exp(4) + 3), rel=1e-5)
    assert sum(pred.sentiment_scores.values()) == pytest.approx(1.0, rel=1e-6)


def test_negative_mass_is_split_across_two_stances() -> None:
    # complaint 0.3 + other negative 0.3 beat neutral 0.4: negative but not a complaint
    logits = np.log(np.array([0.3, 0.3, 0.4, 1e-9]))
    (pred,) = heads_with_bias(list(logits)).predict(np.zeros((1, 6), np.float32))
    assert pred.sentiment is Sentiment.NEGATIVE
    assert not pred.complaint and pred.category is None
    assert pred.category_scores[Category.PAYMENT.value] > 0.5


def test_positive_is_never_a_complaint() -> None:
    (pred,) = heads_with_bias([0.0, 0.0, 0.0, 5.0]).predict(np.zeros((1, 6), np.float32))
    assert pred.sentiment is Sentiment.POSITIVE and not pred.complaint and pred.category is None


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="one row per stance"):
        Heads(
            np.zeros((3, 4), np.float32),
            np.zeros(3, np.float32),
            np.zeros((8, 4), np.float32),
            np.zeros(8, np.float32),
        )
    with pytest.raises(ValueError, match="feature size"):
        Heads(
            np.zeros((4, 4), np.float32),
            np.zeros(4, np.float32),
            np.zeros((8, 5), np.float32),
            np.zeros(8, np.float32),
        )


def test_stance_order_is_the_trained_order() -> None:
    assert [s.value for s in STANCES] == ["complaint", "other_negative", "neutral", "positive"]
    assert Stance.COMPLAINT in STANCES


def test_temperature_softens_or_sharpens_the_probabilities() -> None:
    features = np.zeros((1, 6), np.float32)
    bias = [4.0, 0.0, 0.0, 0.0]
    (plain,) = heads_with_bias(bias).predict(features)
    (soft,) = dataclasses.replace(heads_with_bias(bias), temperature=2.0).predict(features)
    (sharp,) = dataclasses.replace(heads_with_bias(bias), temperature=0.5).predict(features)
    assert soft.complaint_score < plain.complaint_score < sharp.complaint_score
    assert soft.complaint_score == pytest.approx(np.exp(2) / (np.exp(2) + 3), rel=1e-5)
    assert plain.complaint and soft.complaint and sharp.complaint
    with pytest.raises(ValueError, match="temperature"):
        dataclasses.replace(heads_with_bias(bias), temperature=0.0)

"""The real transformer, loaded once: labels of unambiguous sentences in each language."""

import dataclasses
import os

import numpy as np
import pytest

from models.labels import Category
from models.loading import ScorerConfig, build_scorer
from models.scorer import Scorer
from models.scores import ScoreRequest

pytestmark = pytest.mark.model

COMPLAINTS = [
    (
        "pl",
        "Zamówienie złożone 2 tygodnie temu, paczka dalej nie dotarła, kurier nie odbiera telefonu. Skandal!",
        Category.DELIVERY,
    ),
    (
        "pl",
        "Zapłaciłam BLIKiem dwa razy za to samo zamówienie, pieniądze zeszły podwójnie i nikt nie chce oddać!",
        Category.PAYMENT,
    ),
    (
        "hu",
        "Két hete rendeltem, a csomag még mindig nem érkezett meg, a futár nem veszi fel a telefont!",
        Category.DELIVERY,
    ),
    (
        "hu",
        "Az oldal már reggel óta nem működik, a fizetésnél mindig hibát dob, nem tudok rendelni!",
        Category.WEBSITE_OUTAGE,
    ),
    (
        "en",
        "I was charged twice for the same order and your support still hasn't refunded the double payment!",
        Category.PAYMENT,
    ),
    (
        "en",
        "The blender arrived broken, the jug is cracked and it leaks everywhere. Terrible quality.",
        Category.PRODUCT_QUALITY,
    ),
]
PRAISE = [
    ("pl", "Dziękuję za super szybką dostawę i miłą obsługę, na pewno zamówię ponownie! ❤️"),
    ("hu", "Nagyon köszönöm a gyors szállítást és a kedves ügyfélszolgálatot, imádom! 😍"),
    ("en", "Thank you so much for the super fast delivery and lovely service, will order again! ❤️"),
]
NEUTRAL = [
    ("pl", "Do której godziny jest dziś otwarty sklep w Krakowie?"),
    ("hu", "Hány órakor nyit holnap a budapesti üzlet?"),
    ("en", "What time does the Manchester store open on Sunday?"),
]


@pytest.mark.parametrize(("lang", "text", "category"), COMPLAINTS)
def test_complaints(scorer: Scorer, lang: str, text: str, category: Category) -> None:
    (score,) = scorer.score([ScoreRequest(text)])
    assert score.lang == lang
    assert score.sentiment == "negative" and score.complaint
    assert score.complaint_score is not None and score.complaint_score > 0.5
    assert score.category is category


@pytest.mark.parametrize(("lang", "text"), PRAISE)
def test_praise(scorer: Scorer, lang: str, text: str) -> None:
    (score,) = scorer.score([ScoreRequest(text)])
    assert (score.lang, score.sentiment, score.complaint, score.category) == (
        lang,
        "positive",
        False,
        None,
    )
    assert score.sentiment_scores["positive"] > 0.5


@pytest.mark.parametrize(("lang", "text"), NEUTRAL)
def test_neutral_questions(scorer: Scorer, lang: str, text: str) -> None:
    (score,) = scorer.score([ScoreRequest(text)])
    assert (score.lang, score.sentiment, score.complaint) == (lang, "neutral", False)


def test_unsupported_and_empty_are_unscored_never_neutral(scorer: Scorer) -> None:
    german, empty, emoji = scorer.score(
        [
            ScoreRequest("Meine Bestellung ist seit zwei Wochen nicht angekommen, unglaublich!"),
            ScoreRequest("   "),
            ScoreRequest("😡😡😡"),
        ]
    )
    assert german.sentiment == "unscored" and german.unscored_reason == "unsupported language 'de'"
    assert german.sentiment_scores == {} and german.complaint_score is None
    assert empty.sentiment == "unscored" and empty.unscored_reason == "empty text"
    assert emoji.sentiment == "negative" and emoji.lang is None


def test_batch_results_do_not_depend_on_batch_company(scorer: Scorer) -> None:
    # Dynamic int8 scales activations per call, so which texts share a sub-batch moves the
    # probabilities by a few hundredths; the labels must not move.
    texts = [t for _, t, _ in COMPLAINTS] + [t for _, t in PRAISE + NEUTRAL]
    together = scorer.score([ScoreRequest(t) for t in texts])
    alone = [scorer.score([ScoreRequest(t)])[0] for t in texts]
    for a, b in zip(together, alone, strict=True):
        assert (a.sentiment, a.complaint, a.category) == (b.sentiment, b.complaint, b.category)
        np.testing.assert_allclose(
            list(a.sentiment_scores.values()), list(b.sentiment_scores.values()), atol=0.04
        )


def test_fast_path_matches_fp32_reference(scorer: Scorer, fp32_scorer: Scorer) -> None:
    reference = fp32_scorer
    texts = [t for _, t, _ in COMPLAINTS] + [t for _, t in PRAISE + NEUTRAL]
    fast = scorer.backend.encoder.features(texts)  # type: ignore[attr-defined]
    slow = reference.backend.encoder.features(texts)  # type: ignore[attr-defined]
    cosine = (fast * slow).sum(1) / np.linalg.norm(fast, axis=1) / np.linalg.norm(slow, axis=1)
    assert cosine.min() > 0.98
    assert reference.model_id.endswith("/torch-fp32") and scorer.model_id.endswith("/onnx-int8-per-token-ffn")


def test_side_by_side_lanes_give_the_same_features_as_one_call_at_a_time(
    scorer_config: ScorerConfig, scorer: Scorer
) -> None:
    texts = [t for _, t, _ in COMPLAINTS] + [t for _, t in PRAISE + NEUTRAL]
    texts = texts * 4 + ["ok", "Nie działa!!!", "Mikor jön a csomag?"]  # several buckets
    lanes = scorer.backend.encoder  # type: ignore[attr-defined]
    assert lanes.lanes() == (scorer_config.encoder.threads or len(os.sched_getaffinity(0)))
    serial_config = dataclasses.replace(
        scorer_config, encoder=dataclasses.replace(scorer_config.encoder, lanes=False)
    )
    serial = build_scorer(serial_config).backend.encoder  # type: ignore[attr-defined]
    assert serial.lanes() == 1
    np.testing.assert_allclose(lanes.features(texts), serial.features(texts), rtol=0, atol=1e-4)


def test_overlapped_language_detection_gives_the_same_scores(scorer: Scorer) -> None:
    requests = [ScoreRequest(t) for _, t, _ in COMPLAINTS] + [
        ScoreRequest("Meine Bestellung ist seit zwei Wochen nicht angekommen!"),
        ScoreRequest("   "),
        ScoreRequest("Kiedy wysyłka?", "pl"),
        ScoreRequest("😡😡😡"),
    ]
    assert scorer.overlap
    overlapped = scorer.score(requests)
    scorer.overlap = False
    try:
        serial = scorer.score(requests)
    finally:
        scorer.overlap = True
    assert [(s.lang, s.sentiment, s.category, s.unscored_reason) for s in overlapped] == [
        (s.lang, s.sentiment, s.category, s.unscored_reason) for s in serial
    ]
    assert overlapped[len(COMPLAINTS)].unscored_reason == "unsupported language 'de'"

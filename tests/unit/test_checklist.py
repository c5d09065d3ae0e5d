"""The behavioural suite: its cases are well-formed, cover every capability in every language,
are not near-copies of training lines, and the runner scores what it should."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from models.checklist import perturb, suite
from models.corpus import LANGUAGES, Split, load_pending, load_split
from models.scores import Score
from tests.unit.test_corpus import closest_training_line, squashed


@pytest.fixture(scope="module")
def cases() -> list[suite.Case]:
    return suite.load_cases()


def test_every_capability_in_every_language_has_twenty_cases(cases: list[suite.Case]) -> None:
    counts = Counter((c.capability, c.lang) for c in cases)
    assert set(counts) == {(cap, lang) for cap in suite.CAPABILITIES for lang in LANGUAGES}
    assert min(counts.values()) >= 20


def test_expectations_fit_the_capability(cases: list[suite.Case]) -> None:
    for case in cases:
        if case.capability in ("sarcasm", "staff_experience", "polite_question", "threat_to_leave"):
            assert case.complaint is True, case.id
        if case.capability in ("off_topic", "spam", "brand_reply"):
            assert case.complaint is False and case.sentiments is not None, case.id
            assert "positive" not in case.sentiments or case.capability == "brand_reply", case.id


def test_no_case_is_a_near_copy_of_a_training_line(cases: list[suite.Case]) -> None:
    train = load_split(Split.TRAIN) + load_pending()  # pending/ is meant for training too
    exact = {squashed(ex.text) for ex in train}
    for case in cases:
        assert squashed(case.text) not in exact, case.id
        assert closest_training_line(case.text, case.lang, train) < 0.45, (case.id, case.text)


def test_no_diacritics_cases_have_none() -> None:
    for case in suite.load_cases():
        if case.capability == "no_diacritics" and case.lang != "en":
            assert perturb.without_diacritics(case.text) is None, case.id


def test_perturbations() -> None:
    assert perturb.swap_brand("Orbita Mobile znowu nie działa") == "Szafirek znowu nie działa"
    assert perturb.swap_brand("Nordlys, dzięki") == "Lumenio, dzięki"
    assert perturb.swap_brand("bez marki") is None
    assert perturb.without_diacritics("Zażółć gęślą jaźń") == "Zazolc gesla jazn"
    assert perturb.without_diacritics("plain") is None
    emoji = perturb.add_unrelated_emoji("Tapsi ok ", "en-x-01")
    assert emoji.startswith("Tapsi ok ") and emoji[-1] in "".join(perturb.UNRELATED_EMOJI)
    assert perturb.add_unrelated_emoji("a", "k") == perturb.add_unrelated_emoji("a", "k")
    assert perturb.add_bad_news("Super Tapsi!", "hu", "k").startswith("Super Tapsi! ")


def _score(sentiment: str, complaint: bool, positive: float = 0.0) -> Score:
    rest = (1.0 - positive) / 2
    return Score(
        lang="en",
        sentiment=sentiment,
        sentiment_scores={"negative": rest, "neutral": rest, "positive": positive},
        complaint=complaint,
        complaint_score=0.9 if complaint else 0.1,
        category=None,
        model="fake",
    )


def _case(capability: str, text: str, complaint: bool | None, sentiments: set[str] | None) -> suite.Case:
    return suite.Case(
        f"en-{capability}-{abs(hash(text)) % 100}",
        "en",
        capability,
        text,
        complaint,
        frozenset(sentiments) if sentiments else None,
    )


def test_run_counts_failures_changes_and_directional_rises() -> None:
    cases = [
        _case("sarcasm", "Great job Tapsi, cold food again", True, None),
        _case("negation", "Never had a problem with Nordlys", False, {"positive"}),
    ]

    def fake(pairs: Sequence[tuple[str, str]]) -> list[Score]:
        out = []
        for text, _ in pairs:
            if "Great job" in text:
                # right on the case; flips when the brand is swapped; more positive with bad news
                flipped = "Tapsi" not in text
                positive = 0.6 if text.endswith(tuple(perturb.BAD_NEWS["en"])) else 0.1
                out.append(_score("positive" if flipped else "negative", not flipped, positive))
            else:
                out.append(_score("neutral", False, 0.2))  # wrong sentiment: an MFT failure
        return out

    report = suite.run(cases, fake, "fake")
    assert report.mft[("sarcasm", "en")].failed == 0
    assert report.mft[("negation", "en")].failed == 1
    assert report.inv_by_perturbation["brand_swap"].failed == 1
    assert report.inv_by_perturbation["unrelated_emoji"].failed == 0
    assert "no_diacritics" not in report.inv_by_perturbation  # English: nothing to strip
    assert report.dir[("sarcasm", "en")].failed == 1 and report.dir[("negation", "en")].failed == 0
    assert not report.mft_passed and not report.inv_passed and not report.passed
    table = suite.render(report, failures=5)
    assert "negation" in table and "MISS" in table and "sentiment neutral, expected positive" in table
    document = suite.to_json(report)
    assert document["mft"]["negation"]["en"] == {"cases": 1, "failed": 1, "rate": 1.0}
    assert document["passed"] == {"mft": False, "inv": False, "all": False}
    assert json.loads(json.dumps(document)) == document


def test_run_rejects_a_scorer_that_drops_texts() -> None:
    cases = [_case("spam", "Tapsi crypto x100", False, {"neutral"})]
    with pytest.raises(ValueError, match="one score per text"):
        suite.run(cases, lambda pairs: [], "fake")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"id": "x", "lang": "en", "capability": "sarcasm", "text": "Tapsi"}', "exactly the keys"),
        (
            '{"id": "x", "lang": "en", "capability": "moods", "text": "Tapsi", "expect": {"complaint": true}}',
            "capability one of",
        ),
        (
            '{"id": "x", "lang": "en", "capability": "spam", "text": "no brand", "expect": {"complaint": false}}',
            "suite's brands",
        ),
        (
            '{"id": "x", "lang": "en", "capability": "spam", "text": "Tapsi", "expect": {"sentiment": "meh"}}',
            "expect.sentiment",
        ),
        (
            '{"id": "x", "lang": "en", "capability": "spam", "text": "Tapsi", "expect": {"complaint": "yes"}}',
            "true or false",
        ),
    ],
)
def test_bad_case_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    for lang in LANGUAGES:
        (tmp_path / f"{lang}.jsonl").write_text("")
    (tmp_path / "en.jsonl").write_text(line + "\n")
    with pytest.raises(suite.SuiteError, match=message) as info:
        suite.load_cases(tmp_path)
    assert "en.jsonl:1" in str(info.value)

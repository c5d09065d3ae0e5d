from collections import Counter
from pathlib import Path

import pytest

from models.corpus import LANGUAGES, CorpusError, Split, load_file, load_pending, load_split
from models.labels import CATEGORIES, Sentiment

HARD_CASES = {
    "sarcasm",
    "negation",
    "polite_question",
    "threat_to_leave",
    "emoji_only",
    "praise_with_problem_word",
    "spam",
    "off_topic",
    "typos",
    "mixed_language",
}


@pytest.fixture(scope="module")
def train() -> list:
    return load_split(Split.TRAIN)


@pytest.fixture(scope="module")
def test() -> list:
    return load_split(Split.TEST)


def test_size_and_language_balance(train: list, test: list) -> None:
    assert len(train) + len(test) >= 1500
    per_lang = Counter(ex.lang for ex in train + test)
    assert set(per_lang) == set(LANGUAGES)
    assert max(per_lang.values()) - min(per_lang.values()) <= 0.05 * max(per_lang.values())
    for lang in LANGUAGES:
        held_out = sum(1 for ex in test if ex.lang == lang)
        assert held_out >= 300, lang  # enough for per-language F1 and calibration figures


def test_label_balance(train: list, test: list) -> None:
    for split in (train, test):
        sentiments = Counter(ex.sentiment for ex in split)
        assert min(sentiments.values()) >= 0.2 * len(split)
        categories = Counter(ex.category for ex in split if ex.complaint)
        assert set(categories) == set(CATEGORIES)
        assert max(categories.values()) <= 1.5 * min(categories.values())
        assert 0.25 <= sum(ex.complaint for ex in split) / len(split) <= 0.5


def test_hard_cases_in_every_language_and_split(train: list, test: list) -> None:
    for split in (train, test):
        for lang in LANGUAGES:
            tags = {t for ex in split if ex.lang == lang for t in ex.tags}
            assert tags >= HARD_CASES, (lang, HARD_CASES - tags)


def squashed(text: str) -> str:
    """Lower case, runs of whitespace as one space: how "the same line" is compared."""
    return " ".join(text.lower().split())


def trigrams(text: str) -> set[str]:
    t = squashed(text)
    return {t[i : i + 3] for i in range(len(t) - 2)}


_INDEX: dict[tuple[int, str], list[frozenset[str]]] = {}


def closest_training_line(text: str, lang: str, train: list) -> float:
    """The highest character-trigram Jaccard similarity between ``text`` and a training line of its
    language longer than 40 characters; 0 for texts of 40 characters or fewer (too short to tell
    a paraphrase from a common phrase)."""
    if len(text) <= 40:
        return 0.0
    key = (id(train), lang)
    if key not in _INDEX:
        _INDEX[key] = [frozenset(trigrams(ex.text)) for ex in train if ex.lang == lang and len(ex.text) > 40]
    mine = trigrams(text)
    return max(len(mine & other) / len(mine | other) for other in _INDEX[key])


def test_splits_are_disjoint_not_paraphrases(train: list, test: list) -> None:
    assert not {ex.text for ex in train} & {ex.text for ex in test}
    assert not {ex.id for ex in train} & {ex.id for ex in test}
    for ex in test:
        assert closest_training_line(ex.text, ex.lang, train) < 0.45, ex.text


def test_pending_mentions_could_join_the_training_split_as_they_are(train: list, test: list) -> None:
    """``pending/`` (written, not trained on): same format, ids and texts new to both splits,
    no paraphrase of a test line, complaints negative."""
    pending = load_pending()
    assert pending and {ex.lang for ex in pending} <= set(LANGUAGES)
    ids = [ex.id for ex in pending]
    assert len(ids) == len(set(ids)) and not set(ids) & {ex.id for ex in train + test}
    known = {squashed(ex.text) for ex in train + test}
    assert not [ex.text for ex in pending if squashed(ex.text) in known]
    assert all(ex.sentiment is Sentiment.NEGATIVE for ex in pending if ex.complaint)
    for ex in pending:
        assert closest_training_line(ex.text, ex.lang, test) < 0.45, ex.text


def test_complaints_are_negative(train: list, test: list) -> None:
    assert all(ex.sentiment is Sentiment.NEGATIVE for ex in train + test if ex.complaint)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"id": "x"}', "exactly the keys"),
        (
            '{"id":"x","lang":"pl","text":"a","sentiment":"angry","complaint":false,"category":null,"tags":[]}',
            "angry",
        ),
        (
            '{"id":"x","lang":"pl","text":"a","sentiment":"negative","complaint":true,"category":null,"tags":[]}',
            "needs a category",
        ),
        (
            '{"id":"x","lang":"pl","text":"a","sentiment":"positive","complaint":true,"category":"payment","tags":[]}',
            "must be negative",
        ),
        (
            '{"id":"x","lang":"pl","text":" ","sentiment":"neutral","complaint":false,"category":null,"tags":[]}',
            "empty text",
        ),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id":"ok","lang":"pl","text":"a","sentiment":"neutral","complaint":false,'
        '"category":null,"tags":[]}\n' + line + "\n"
    )
    with pytest.raises(CorpusError, match=f"bad.jsonl:2: .*{message}"):
        load_file(path)

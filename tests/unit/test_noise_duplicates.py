"""Exact and near duplicates (models/noise/duplicates.py): copies with small edits, different
complaints kept apart, the window, redeliveries, saved state, and a campaign of 500 copies."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.noise import Duplicate, DuplicateIndex

T0 = datetime(2026, 11, 19, 13, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)

COMPLAINT = (
    "Zakupowo od rana nie działa płatność BLIK, trzy razy próbowałam zapłacić za zamówienie "
    "i za każdym razem wyskakuje błąd. Kiedy to naprawicie?"
)
"""21 words."""

CAMPAIGN = (
    "Nie kupujcie w Zakupowo! Sprzedali mi uszkodzony telewizor, reklamację odrzucili po trzech "
    "tygodniach, a infolinia rozłącza rozmowy. Udostępnijcie, niech wszyscy wiedzą, jak traktują "
    "klientów."
)
"""25 words: a copy-paste campaign's template."""


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def index(max_distance: int = 3, max_entries: int = 100_000) -> DuplicateIndex:
    return DuplicateIndex(WINDOW, max_distance, max_entries=max_entries)


# -- exact ---------------------------------------------------------------------------------------


def test_exact_copies_count_against_the_first() -> None:
    ix = index()
    assert ix.check("a", "zakupowo", COMPLAINT, minutes(0)) is None
    assert ix.check("b", "zakupowo", COMPLAINT, minutes(1)) == Duplicate("a", 1)
    assert ix.check("c", "zakupowo", COMPLAINT, minutes(2)) == Duplicate("a", 2)
    assert len(ix) == 3


def test_folding_and_whitespace_make_exact_copies_of_short_texts() -> None:
    ix = index()
    assert ix.check("a", "zakupowo", "Nie działa BLIK!", minutes(0)) is None
    assert ix.check("b", "zakupowo", "  NIE   dziala\tblik! ", minutes(1)) == Duplicate("a", 1)


def test_short_texts_are_matched_exactly_only() -> None:
    """Different people write "nie działa" during every outage: only identical short texts merge."""
    ix = index()
    assert ix.check("a", "zakupowo", "nie działa", minutes(0)) is None
    assert ix.check("b", "zakupowo", "nie działa znowu", minutes(1)) is None
    assert ix.check("c", "zakupowo", "Nie działa!", minutes(2)) is None, "punctuation counts when exact"
    assert ix.check("d", "zakupowo", "BLIK nie działa od rana", minutes(3)) is None
    assert ix.check("e", "zakupowo", "BLIK nie działa od wczoraj", minutes(4)) is None


def test_blank_texts_are_never_duplicates_nor_remembered() -> None:
    ix = index()
    assert ix.check("a", "zakupowo", "   ", minutes(0)) is None
    assert ix.check("b", "zakupowo", "", minutes(1)) is None
    assert len(ix) == 0


# -- near ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "copy",
    [
        COMPLAINT.replace("trzy", "cztery"),
        COMPLAINT.replace("wyskakuje", "pokazuje się"),
        COMPLAINT.replace("płatność ", ""),
        COMPLAINT.replace("BLIK, ", "BLIK!!! ").replace("?", "??? 😡😡"),
        COMPLAINT.upper(),
        COMPLAINT.lower().replace("ł", "l").replace("ó", "o").replace("ę", "e"),
        "🔥 " + COMPLAINT + " #zakupowo",
        COMPLAINT.replace("Zakupowo", "@Zakupowo").replace("naprawicie", "naprawicie wreszcie"),
    ],
)
def test_small_edits_are_near_duplicates(copy: str) -> None:
    ix = index()
    assert ix.check("a", "zakupowo", COMPLAINT, minutes(0)) is None
    assert ix.check("b", "zakupowo", copy, minutes(5)) == Duplicate("a", 1)


@pytest.mark.parametrize(
    "other",
    [
        "Zakupowo od rana nie działa strona, nie mogę się zalogować ani sprawdzić statusu zamówienia. "
        "Kiedy to naprawicie?",
        "Zakupowo paczka nie doszła, czekam od tygodnia, kurier nie odbiera, infolinia też nie. "
        "Kiedy to naprawicie?",
        "Płatność BLIK w Zakupowo znowu nie działa, a promocja kończy się o północy. Kiedy to naprawicie?",
    ],
)
def test_different_complaints_that_share_the_brand_and_phrases_are_not(other: str) -> None:
    ix = index()
    assert ix.check("a", "zakupowo", COMPLAINT, minutes(0)) is None
    assert ix.check("b", "zakupowo", other, minutes(1)) is None


def test_different_order_numbers_keep_two_customers_apart() -> None:
    ix = index()
    first = "Gdzie jest moja paczka? Zamówienie nr 48213 miało być wczoraj, czekam od tygodnia"
    assert ix.check("a", "zakupowo", first, minutes(0)) is None
    assert ix.check("b", "zakupowo", first.replace("48213", "90377"), minutes(1)) is None


def test_more_edited_words_than_max_distance_is_another_text() -> None:
    long = " ".join(f"{word}{i}" for i, word in enumerate(["słowo"] * 120))
    edited = long.split()
    for position in (10, 30, 50, 70, 90):
        edited[position] = "zmiana"
    strict, loose = index(), index(max_distance=5)
    for ix in (strict, loose):
        ix.check("a", "zakupowo", long, minutes(0))
    assert strict.check("b", "zakupowo", " ".join(edited), minutes(1)) is None
    assert loose.check("b", "zakupowo", " ".join(edited), minutes(1)) == Duplicate("a", 1)


def test_a_phrase_every_complaint_shares_does_not_hide_copies() -> None:
    """During an outage hundreds of posts share a phrase; the buckets of its shingles fill up
    (``MAX_BUCKET``), and a copy of an early post is still found through its own words."""
    rng = random.Random(5)
    vocabulary = CAMPAIGN.split() + COMPLAINT.split()
    shared = "BLIK w Zakupowo nie działa od rana, "
    posts = [shared + " ".join(rng.choices(vocabulary, k=15)) + f" {i}" for i in range(400)]
    ix = index()
    for i, post in enumerate(posts):
        assert ix.check(f"p{i}", "zakupowo", post, minutes(i)) is None
    copy = posts[3].split()
    copy[10] = "zupełnie"
    assert ix.check("copy", "zakupowo", " ".join(copy), minutes(500)) == Duplicate("p3", 1)


def test_brands_are_kept_apart() -> None:
    ix = index()
    assert ix.check("a", "zakupowo", COMPLAINT, minutes(0)) is None
    assert ix.check("b", "kosarka", COMPLAINT, minutes(1)) is None
    assert ix.check("c", "kosarka", COMPLAINT, minutes(2)) == Duplicate("b", 1)


# -- window, redeliveries, bounds ----------------------------------------------------------------


def test_window() -> None:
    ix = DuplicateIndex(timedelta(hours=1))
    assert ix.check("a", "zakupowo", COMPLAINT, minutes(0)) is None
    assert ix.check("b", "zakupowo", COMPLAINT, minutes(60)) == Duplicate("a", 1)
    assert ix.check("x", "zakupowo", "coś zupełnie innego, o innej sprawie", minutes(200)) is None
    assert len(ix) == 1, "a and b were forgotten"
    assert ix.check("c", "zakupowo", COMPLAINT, minutes(201)) is None, "a new original"
    assert ix.check("d", "zakupowo", COMPLAINT.upper(), minutes(202)) == Duplicate("c", 1)


def test_late_mentions_compare_both_ways_in_time() -> None:
    """Collectors read newest first: the first one seen is the original, whatever its time."""
    ix = DuplicateIndex(timedelta(hours=1))
    assert ix.check("a", "zakupowo", COMPLAINT, minutes(30)) is None
    assert ix.check("b", "zakupowo", COMPLAINT, minutes(0)) == Duplicate("a", 1), "older, within the hour"
    assert ix.check("c", "zakupowo", COMPLAINT.upper(), minutes(-20)) == Duplicate("a", 2)
    assert ix.check("d", "zakupowo", COMPLAINT, minutes(-31)) is None, "more than an hour before a"


def test_naive_datetimes_are_utc() -> None:
    ix = DuplicateIndex(timedelta(minutes=10))
    assert ix.check("a", "zakupowo", COMPLAINT, datetime(2026, 11, 19, 13, 0)) is None
    assert ix.check("b", "zakupowo", COMPLAINT, minutes(5)) == Duplicate("a", 1)


def test_a_redelivered_id_is_not_a_copy_of_itself() -> None:
    ix = index()
    assert ix.check("a", "zakupowo", COMPLAINT, minutes(0)) is None
    assert ix.check("a", "zakupowo", COMPLAINT, minutes(0)) is None
    assert ix.check("b", "zakupowo", COMPLAINT, minutes(1)) == Duplicate("a", 1)
    assert ix.check("b", "zakupowo", COMPLAINT, minutes(1)) == Duplicate("a", 1), "same answer"
    assert ix.check("b", "zakupowo", COMPLAINT, minutes(9)) == Duplicate("a", 1), "whenever it comes"
    assert ix.check("c", "zakupowo", COMPLAINT, minutes(2)) == Duplicate("a", 2)
    assert len(ix) == 3


def test_max_entries_forgets_the_oldest() -> None:
    ix = index(max_entries=3)
    for i in range(5):
        ix.check(f"m{i}", "zakupowo", f"unikalny tekst {i} " * 3, minutes(i))
    assert len(ix) == 3
    assert ix.check("x", "zakupowo", "unikalny tekst 0 " * 3, minutes(10)) is None, "m0 forgotten"
    assert ix.check("y", "zakupowo", "unikalny tekst 4 " * 3, minutes(11)) == Duplicate("m4", 1)
    assert len(ix) == 3


def test_a_campaign_longer_than_the_window_stays_one_group() -> None:
    """Copies keep coming after the original is forgotten: they still join its group."""
    ix = DuplicateIndex(timedelta(hours=2))
    rng = random.Random(3)
    assert ix.check("orig", "zakupowo", CAMPAIGN, minutes(0)) is None
    for n in range(1, 41):
        copy = _edit(CAMPAIGN, rng)
        assert ix.check(f"c{n}", "zakupowo", copy, minutes(15 * n)) == Duplicate("orig", n)
    assert len(ix) <= 9


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        DuplicateIndex(timedelta(0))
    with pytest.raises(ValueError):
        DuplicateIndex(WINDOW, -1)
    with pytest.raises(ValueError):
        DuplicateIndex(WINDOW, min_similarity=0.0)
    with pytest.raises(ValueError):
        DuplicateIndex(WINDOW, min_near_words=2)
    with pytest.raises(ValueError):
        DuplicateIndex(WINDOW, max_entries=0)


# -- state ---------------------------------------------------------------------------------------


def test_state_round_trip_behaves_the_same() -> None:
    rng = random.Random(11)
    before = index(max_entries=50)
    texts = [COMPLAINT, CAMPAIGN, "nie działa", "Nie działa!", "Zakupowo paczka nie doszła od tygodnia"]
    for i in range(40):
        text = _edit(rng.choice(texts), rng) if rng.random() < 0.5 else rng.choice(texts)
        before.check(f"m{i}", rng.choice(["zakupowo", "kosarka"]), text, minutes(i))
    state = json.loads(json.dumps(before.to_json()))
    assert "reklamację" not in json.dumps(state) and "reklamacje" not in json.dumps(state), "no texts"
    after = DuplicateIndex.from_json(state)
    assert len(after) == len(before)
    assert (after.window, after.max_distance, after.max_entries) == (WINDOW, 3, 50)
    for i in range(40, 80):
        text = _edit(rng.choice(texts), rng) if rng.random() < 0.5 else rng.choice(texts)
        brand = rng.choice(["zakupowo", "kosarka"])
        mention = f"m{rng.randrange(i)}" if rng.random() < 0.2 else f"m{i}"
        assert after.check(mention, brand, text, minutes(i)) == before.check(mention, brand, text, minutes(i))
    assert after.to_json() == before.to_json()


def test_loaded_state_can_change_settings() -> None:
    before = index()
    for i in range(10):
        assert before.check(f"m{i}", "zakupowo", f"tekst numer {i} " * 3, minutes(i * 60)) is None
    after = DuplicateIndex.from_json(before.to_json(), max_entries=4, window=timedelta(hours=5))
    assert (len(before), len(after)) == (10, 4)
    assert after.check("x", "zakupowo", "tekst numer 5 " * 3, minutes(9 * 60)) is None, "forgotten"
    assert after.check("y", "zakupowo", "tekst numer 7 " * 3, minutes(9 * 60)) == Duplicate("m7", 1)


@pytest.mark.parametrize("state", [{}, {"state_version": 99}, {"state_version": 1, "window_s": 60}])
def test_bad_state_is_refused(state: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DuplicateIndex.from_json(state)


# -- a campaign ----------------------------------------------------------------------------------

_FILLERS = ["naprawdę", "serio", "znowu", "totalnie", "kolejny", "raz", "ludzie", "wstyd", "😡", "!!!"]


def _edit(text: str, rng: random.Random) -> str:
    """One word changed, added or removed, plus cosmetic noise (case, punctuation, emoji)."""
    words = text.split()
    position = rng.randrange(len(words))
    kind = rng.choice(["change", "add", "drop", "none"])
    if kind == "change":
        words[position] = rng.choice(_FILLERS)
    elif kind == "add":
        words.insert(position, rng.choice(_FILLERS))
    elif kind == "drop":
        del words[position]
    out = " ".join(words)
    if rng.random() < 0.3:
        out = out.upper()
    if rng.random() < 0.3:
        out += rng.choice([" 😡", "!!!", " #bojkot", " 👎👎"])
    return out


_EDIT = st.tuples(
    st.sampled_from(["change", "add", "drop", "punctuation", "emoji", "case"]),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(_FILLERS),
)


def _apply(text: str, edit: tuple[str, int, str]) -> str:
    kind, where, word = edit
    words = text.split()
    position = where % len(words)
    if kind == "change":
        words[position] = word
    elif kind == "add":
        words.insert(position, word)
    elif kind == "drop":
        del words[position]
    elif kind == "punctuation":
        words[position] += "!?.,"[where % 4]
    elif kind == "emoji":
        words.insert(position, "😡🔥👎"[where % 3])
    else:
        words[position] = words[position].swapcase()
    return " ".join(words)


@settings(max_examples=12)
@given(st.lists(_EDIT, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_a_campaign_of_500_edited_copies_is_one_original(
    pool: list[tuple[str, int, str]], rng: random.Random
) -> None:
    """Each copy: the template with at most one word edit (changed, added or dropped) and any
    cosmetic ones (punctuation, emoji, case), drawn from a generated pool of edits; all 500 count
    against the first post, and a mention in between keeps its own group."""
    word_edits = [e for e in pool if e[0] in ("change", "add", "drop")] or [("case", 0, "")]
    cosmetic = [e for e in pool if e[0] not in ("change", "add", "drop")] or [("case", 1, "")]
    ix = index()
    assert ix.check("orig", "zakupowo", CAMPAIGN, minutes(0)) is None
    assert ix.check("other", "zakupowo", COMPLAINT, minutes(0)) is None
    for n in range(1, 501):
        copy = _apply(CAMPAIGN, rng.choice(word_edits))
        for edit in rng.sample(cosmetic, k=min(len(cosmetic), rng.randint(0, 2))):
            copy = _apply(copy, edit)
        assert ix.check(f"c{n}", "zakupowo", copy, minutes(n / 10)) == Duplicate("orig", n), copy
    assert ix.check("other-2", "zakupowo", COMPLAINT.lower(), minutes(60)) == Duplicate("other", 1)

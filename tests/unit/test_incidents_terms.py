"""Significant terms: what sets a flare-up's texts apart from the brand's background."""

from __future__ import annotations

import json
from pathlib import Path

from models.incidents.terms import phrases, significant_terms, tokens

PL_BACKGROUND = [
    "Zamówienie dotarło szybko, dziękuję @zakupowo",
    "Kiedy wysyłka zamówienia z promocji?",
    "Czy zamówienie można odebrać w sklepie?",
    "Super promocja na laptopy https://zakupowo.pl/promo",
    "Kurier zostawił paczkę u sąsiada, zamówienie kompletne",
    "Jak zwrócić zamówienie? Formularz nie działa na telefonie",
    "Polecam, zamówienie w dwa dni",
    "Czy macie jeszcze słuchawki w promocji?",
] * 5

PL_FLARE = [
    "@zakupowo nie mogę zapłacić BLIK, zamówienie wisi",
    "BLIK nie działa, zamówienie nieopłacone",
    "Płatność BLIK odrzucona trzeci raz",
    "czy wiecie co się dzieje z płatnościami BLIK? zamówienie stoi",
    "kod BLIK zaakceptowany w banku, a zamówienie nieopłacone",
    "Znowu błąd płatności przy BLIK https://x.example/status/1",
    "zamówienie nieopłacone mimo kodu BLIK",
]

HU_BACKGROUND = [
    "Köszönöm a gyors kiszállítást @kosarka",
    "Mikor lesz újra akció a fejhallgatókra?",
    "A rendelés megérkezett, minden rendben",
    "Lehet a boltban kipróbálni a termékeket?",
    "A rendelés állapota nem frissül az appban",
    "Kedves eladók, gyors kiszállítás, ajánlom",
] * 5

HU_FLARE = [
    "Nem működik a kártyás fizetés a kosarka oldalon",
    "@kosarka a kártyás fizetés hibára fut, a rendelés elakadt",
    "Háromszor próbáltam, a kártyás fizetés nem megy",
    "Kártyás fizetés hiba, a pénzt levonták de a rendelés nincs meg",
    "Ma sem működik a kártyás fizetés??",
]


def test_tokens_keep_polish_and_hungarian_letters_and_drop_urls_handles_numbers() -> None:
    text = "@zakupowo Zapłaciłem BLIKIEM 349 zł https://x.pl/a?b=1 #Płatność Működik can\u2019t"
    assert tokens(text) == ["zapłaciłem", "blikiem", "zł", "płatność", "működik", "can't"]


def test_phrases_are_words_and_pairs_broken_by_stopwords() -> None:
    assert phrases("Nie mogę zapłacić kodem BLIK od rana") == {
        "zapłacić",
        "kodem",
        "blik",
        "rana",
        "zapłacić kodem",
        "kodem blik",
    }


def test_the_flare_term_beats_frequent_background_words_in_polish() -> None:
    top = significant_terms(PL_FLARE, PL_BACKGROUND)
    assert top[0] == "blik"
    assert "zamówienie" not in top  # frequent, but as frequent in the background
    assert "zamówienie nieopłacone" in top
    assert "nieopłacone" not in top  # only ever inside the phrase


def test_the_flare_phrase_in_hungarian() -> None:
    top = significant_terms(HU_FLARE, HU_BACKGROUND, exclude=["kosarka"])
    assert top[0] == "kártyás fizetés"  # "kártyás" only ever appears inside the phrase
    assert "kártyás" not in top
    assert "rendelés" not in top and "kosarka" not in top


def test_min_doc_count_and_top() -> None:
    assert significant_terms(PL_FLARE, PL_BACKGROUND, min_doc_count=7) == ["blik"]
    assert len(significant_terms(PL_FLARE, PL_BACKGROUND, top=2)) == 2
    assert significant_terms([], PL_BACKGROUND) == []


def test_without_background_the_most_frequent_terms() -> None:
    assert significant_terms(PL_FLARE, [])[0] == "blik"


def test_ties_are_ordered_deterministically() -> None:
    fg = ["alfa beta", "beta alfa", "alfa beta", "beta alfa"]
    assert significant_terms(fg, ["gamma"] * 10, min_doc_count=2) == significant_terms(
        list(reversed(fg)), ["gamma"] * 10, min_doc_count=2
    )
    assert significant_terms(fg, ["gamma"] * 10, min_doc_count=2)[:2] == ["alfa", "beta"]


def test_the_sample_outage_is_about_blik() -> None:
    """The demo stream: Zakupowo's customers during the outage against the rest of the five days."""
    sample = Path(__file__).parents[2] / "streams" / "devstack" / "sample" / "mentions.jsonl"
    start, end = "2026-11-19T13:00", "2026-11-19T18:00"
    flare: list[str] = []
    rest: list[str] = []
    for line in sample.read_text(encoding="utf-8").splitlines():
        try:
            mention = json.loads(line)
            brand, created, text = mention["brand"], str(mention["created_at"]), str(mention["text"])
        except (ValueError, TypeError, KeyError):
            continue  # the sample's deliberately broken lines
        if brand == "zakupowo" and not mention.get("from_brand"):
            (flare if start <= created < end else rest).append(text)
    top = significant_terms(flare, rest, exclude=["zakupowo"])
    assert top[0] == "blik"

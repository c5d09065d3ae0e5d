import pytest

from models.language import DetectionOptions, LanguageDecision, LanguageDetector


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("pl", LanguageDecision("pl")),
        ("PL-pl", LanguageDecision("pl")),
        ("en_GB", LanguageDecision("en")),
        ("de", LanguageDecision("de", "unsupported language 'de'")),
        ("polish", LanguageDecision(None, "invalid language hint 'polish'")),
    ],
)
def test_hints_are_trusted_and_validated(
    detector: LanguageDetector, hint: str, expected: LanguageDecision
) -> None:
    assert detector.decide("whatever the text says", hint) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Zamówienie nie dotarło od tygodnia, kurier nie odbiera telefonu", "pl"),
        ("zamowienie nie dotarlo, kurier nie odbiera", "pl"),
        ("A csomagot még mindig nem kaptam meg, az ügyfélszolgálat nem veszi fel", "hu"),
        ("csomagot meg mindig nem kaptam meg", "hu"),
        ("My parcel still hasn't arrived and nobody answers the hotline", "en"),
    ],
)
def test_supported_languages_detected(detector: LanguageDetector, text: str, lang: str) -> None:
    decision = detector.decide(text)
    assert decision == LanguageDecision(lang)
    assert decision.scorable


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Meine Bestellung ist immer noch nicht angekommen, das ist eine Frechheit!", "de"),
        ("Ma commande n'est toujours pas arrivée, c'est inadmissible", "fr"),
        ("Moje objednávka pořád nedorazila, co se děje?", "cs"),
    ],
)
def test_unsupported_languages_are_unscored_with_reason(
    detector: LanguageDetector, text: str, lang: str
) -> None:
    decision = detector.decide(text)
    assert decision.lang == lang
    assert decision.reason == f"unsupported language '{lang}'"


def test_texts_without_words(detector: LanguageDetector) -> None:
    assert detector.decide("") == LanguageDecision(None, "empty text")
    assert detector.decide("  \u200b ") == LanguageDecision(None, "empty text")
    assert detector.decide("😡😡😡") == LanguageDecision(None)  # emoji carry sentiment: scored
    assert detector.decide("@brand 👎 #PL123") == LanguageDecision(None)
    assert detector.decide("?!... 123") == LanguageDecision(None, "no words or emoji to score")


def test_mixed_text_with_a_supported_language_is_scored(detector: LanguageDetector) -> None:
    decision = detector.decide("do you ship to Germany? Lieferung nach München possible or only UK?")
    assert decision == LanguageDecision("en")


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown candidate"):
        LanguageDetector(DetectionOptions(candidates=("en", "pl", "hu", "xx")))
    with pytest.raises(ValueError, match="missing from candidates"):
        LanguageDetector(DetectionOptions(candidates=("en", "pl")))

from models.augment import strip_diacritics
from models.text_rules import has_letters, has_pictographs, is_blank, words_only


def test_blank_includes_invisible_format_characters() -> None:
    assert is_blank("   \n\t")
    assert is_blank("\u200b\u200d ")
    assert not is_blank(" 🙄 ")


def test_words_only_drops_language_neutral_parts() -> None:
    text = "@Zakupowo zamówienie #PL123456 https://x.pl/a?b=1 kontakt: jan@x.pl 149,99 zł #fail"
    assert words_only(text) == "zamówienie kontakt: , zł"


def test_letters_and_pictographs() -> None:
    assert has_letters("ok") and not has_letters("123 !!! 😡")
    assert has_pictographs("😡") and has_pictographs("❤️") and not has_pictographs("a :)")


def test_strip_diacritics_polish_and_hungarian() -> None:
    assert strip_diacritics("Zażółć gęślą jaźń, Łódź") == "Zazolc gesla jazn, Lodz"
    assert strip_diacritics("ügyfélszolgálat nem működik") == "ugyfelszolgalat nem mukodik"
    assert strip_diacritics("plain") == "plain"


def test_toggle_exclamation() -> None:
    from models.augment import toggle_exclamation

    assert toggle_exclamation("paczka nie doszła!!! ") == "paczka nie doszła"
    assert toggle_exclamation("dzięki.") == "dzięki!"
    assert toggle_exclamation("ok") == "ok!"
    assert toggle_exclamation("!!!") == "!!!"

"""Emoji the vocabulary lacks are spelled out; known ones and plain text are left alone."""

from models.emoji_names import EmojiSpeller
from models.encoder import EncoderSpec, model_input

VOCABULARY = frozenset({"😍", "▁👏", "▁Tapsi", "❌"})


def test_unknown_emoji_become_their_names_known_ones_stay() -> None:
    spell = EmojiSpeller(VOCABULARY)
    assert spell("Tapsi 🤬") == "Tapsi serious face with symbols covering mouth"
    assert spell("📉📉 dalej 😍👏❌") == "chart with downwards trend chart with downwards trend dalej 😍👏❌"
    assert spell("Zażółć gęślą jaźń! 10 zł → 20 zł") == "Zażółć gęślą jaźń! 10 zł → 20 zł"
    assert spell("plain ascii :(") == "plain ascii :("


def test_the_answer_for_a_character_is_remembered() -> None:
    spell = EmojiSpeller(VOCABULARY)
    assert spell("🥶") == spell("🥶") == "freezing face"
    assert spell._known == {"🥶": False}


def test_model_input_folds_diacritics_and_spells_emoji_when_the_weights_say_so() -> None:
    text = "Zamówienie nie dotarło, ügyfél 🥶"
    folded = model_input(EncoderSpec(spell_emoji=True, fold_diacritics=True, prefix="q: "), VOCABULARY)
    assert folded(text) == "q: Zamowienie nie dotarlo, ugyfel freezing face"
    plain = model_input(EncoderSpec(), VOCABULARY)
    assert plain(text) == text

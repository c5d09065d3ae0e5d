"""Text rules applied before scoring: what counts as empty, as words, as emoji-only."""

from __future__ import annotations

import re
import unicodedata

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|(?<!\w)@[\w.\-]+|[#$]\w+|\d+")


def is_blank(text: str) -> bool:
    """True when nothing but whitespace and invisible format characters remain."""
    return not any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text)


def words_only(text: str) -> str:
    """The text without links, e-mail addresses, @mentions, hashtags, cashtags and numbers.

    Used for language detection: those parts are language-neutral and mislead detectors.
    """
    return " ".join(_NOISE.sub(" ", text).split())


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def has_pictographs(text: str) -> bool:
    """Emoji and other symbols that carry sentiment without words (``So`` category)."""
    return any(unicodedata.category(ch) == "So" for ch in text)

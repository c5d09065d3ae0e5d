"""Training-time augmentation: the way real posts drop Polish and Hungarian diacritics."""

from __future__ import annotations

import unicodedata
import zlib

_NOT_DECOMPOSABLE = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "đ": "d"})


def strip_diacritics(text: str) -> str:
    """``"Zamówienie nie dotarło, ügyfél"`` -> ``"Zamowienie nie dotarlo, ugyfel"``."""
    decomposed = unicodedata.normalize("NFD", text.translate(_NOT_DECOMPOSABLE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def toggle_exclamation(text: str) -> str:
    """Remove a trailing run of ``!`` or add one: the label must not depend on it.

    The corpus has far more exclamation marks in praise than in complaints; without this a
    trailing ``!`` turned plain complaints positive.
    """
    stripped = text.rstrip()
    if stripped.endswith("!"):
        return stripped.rstrip("!").rstrip() or stripped
    return stripped.rstrip(".") + "!"


NEUTRAL_EMOJI: tuple[str, ...] = (
    "🌷",
    "🐕",
    "🎶",
    "☕",
    "🌞",
    "🍂",
    "📷",
    "🏔️",
    "🐝",
    "🎨",
    "🌊",
    "🍓",
    "🧩",
    "🚗",
    "🌙",
    "⚽",
    "📚",
    "🦋",
    "🍕",
    "🎄",
    "🏠",
    "🐟",
    "🌼",
    "✈️",
)
"""Emoji that say nothing about a brand: appended to training copies so that one of them does not
move a label. The behavioural suite uses a different set."""


def add_neutral_emoji(text: str, key: str) -> str:
    """``text`` with one of :data:`NEUTRAL_EMOJI` appended, chosen by ``key``."""
    return f"{text.rstrip()} {NEUTRAL_EMOJI[zlib.crc32(key.encode()) % len(NEUTRAL_EMOJI)]}"

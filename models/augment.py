"""Training-time augmentation: the way real posts drop Polish and Hungarian diacritics."""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable

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


_CAMEL = re.compile(
    r"(?<![\w@#/.])([A-ZĄĆĘŁŃÓŚŹŻÁÉÍÓÖŐÚÜŰ][a-ząćęłńóśźżáéíóöőúüű]+(?:[A-Z][a-ząćęłńóśźżáéíóöőúüű]*)+)"
)
NOT_BRANDS = frozenset({"PayPal", "WhatsApp", "YouTube", "TikTok", "PlayStation", "LinkedIn", "FaceTime"})
"""Real products and platforms that people name beside a brand: never swapped."""


def brand_names(texts: Iterable[str], min_count: int = 2) -> tuple[str, ...]:
    """The invented brand names a corpus uses: CamelCase words (FreshCart, HomeNest) found in at
    least ``min_count`` texts, without the real platforms of :data:`NOT_BRANDS`; sorted."""
    counts = Counter(name for text in texts for name in set(_CAMEL.findall(text)))
    names = {n for n, c in counts.items() if c >= min_count}
    # an inflected form (HomeNesttol, PayPalem) is its stem's, which is swapped with its ending kept
    return tuple(
        sorted(
            n
            for n in names
            if not any(n != other and n.startswith(other) for other in names | NOT_BRANDS)
            and n not in NOT_BRANDS
        )
    )


def swap_brands(text: str, names: tuple[str, ...], key: str) -> str:
    """``text`` with each of ``names`` it contains (also inflected: FreshCarttól) replaced by
    another of them, chosen by ``key``: the label must come from what is said, not from which
    brand it is said of. Unchanged when it names none."""
    found = [n for n in names if n in text]
    if not found or len(names) < 2:
        return text
    start = zlib.crc32(key.encode())
    out = text
    for i, name in enumerate(found):
        other = names[(start + 7 * i) % len(names)]
        if other == name:
            other = names[(start + 7 * i + 1) % len(names)]
        out = re.sub(rf"(?<![\w@#/.]){re.escape(name)}", other, out)
    return out

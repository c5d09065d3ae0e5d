"""Perturbations that derive invariance and directional cases from the minimum-functionality ones.

Invariance (the label must not change): the text without diacritics, another brand of the suite
in place of the one named, an unrelated emoji appended. Directional (the positive score must not
rise): a sentence saying the thing broke or went wrong, in the case's language.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from models.augment import strip_diacritics

BRANDS: tuple[str, ...] = (
    "Lumenio",
    "Sprintpaka",
    "Orbita Mobile",
    "Szafirek",
    "Kwiatomat",
    "Mozaik Bank",
    "Tapsi",
    "Nordlys",
)
"""The suite's brands: every case names exactly one, so that it can be swapped for another."""

UNRELATED_EMOJI: tuple[str, ...] = ("🌻", "🐈", "🎧", "🚲", "🍀", "🌍", "🪴", "🎸")

BAD_NEWS: dict[str, tuple[str, ...]] = {
    "pl": (
        "Ale po jednym dniu się zepsuło.",
        "Szkoda tylko, że po tygodniu przestało działać.",
        "Niestety następnym razem znowu nic nie przyszło na czas.",
    ),
    "hu": (
        "De egy nap után elromlott.",
        "Kár, hogy egy hét után leállt.",
        "Sajnos a következő alkalommal megint semmi nem jött meg időben.",
    ),
    "en": (
        "But it broke after a day.",
        "Shame it stopped working after a week.",
        "Sadly the next order didn't arrive on time either.",
    ),
}


def brand_in(text: str) -> str | None:
    """The suite brand a text names (the longest match first), or None."""
    found = [b for b in sorted(BRANDS, key=len, reverse=True) if b in text]
    return found[0] if found else None


def swap_brand(text: str) -> str | None:
    brand = brand_in(text)
    if brand is None:
        return None
    other = BRANDS[(BRANDS.index(brand) + 1) % len(BRANDS)]
    return text.replace(brand, other)


def add_unrelated_emoji(text: str, key: str) -> str:
    return f"{text.rstrip()} {_pick(UNRELATED_EMOJI, key)}"


def without_diacritics(text: str) -> str | None:
    stripped = strip_diacritics(text)
    return stripped if stripped != text else None


def add_bad_news(text: str, lang: str, key: str) -> str:
    return f"{text.rstrip()} {_pick(BAD_NEWS[lang], key)}"


INVARIANCES: dict[str, Callable[[str, str], str | None]] = {
    "no_diacritics": lambda text, _key: without_diacritics(text),
    "brand_swap": lambda text, _key: swap_brand(text),
    "unrelated_emoji": add_unrelated_emoji,
}
"""Name -> perturbation(text, case id); None when it does not apply to the text."""


def _pick(options: tuple[str, ...], key: str) -> str:
    return options[zlib.crc32(key.encode()) % len(options)]

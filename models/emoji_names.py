"""Emoji the encoder's vocabulary lacks, spelled out by their Unicode names.

multilingual-e5-small's SentencePiece vocabulary knows the older emoji (😍 😡 👏 🙃 ❌) but reads
newer ones (🤬 🥶 📉 🧊) and runs of them as one ``<unk>``: "Orbita Mobile 📶📉📉📉 🤬" would reach
the model as a brand name and two unknowns. Each pictograph the vocabulary lacks is replaced by its
name ("serious face with symbols covering mouth"), which the multilingual encoder reads in any
of our languages; known emoji stay as they are. Training and scoring apply the same rule (the
encoder spec records it), so the model learns from what it will see.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection


class EmojiSpeller:
    def __init__(self, vocabulary: Collection[str]) -> None:
        self._vocabulary = vocabulary
        self._known: dict[str, bool] = {}

    def __call__(self, text: str) -> str:
        if text.isascii():
            return text
        parts: list[str] = []
        changed = False
        for ch in text:
            if ord(ch) >= 0x2100 and unicodedata.category(ch) == "So" and not self._knows(ch):
                name = unicodedata.name(ch, "").lower()
                if name:
                    parts.append(f" {name} ")
                    changed = True
                    continue
            parts.append(ch)
        return " ".join("".join(parts).split()) if changed else text

    def _knows(self, ch: str) -> bool:
        known = self._known.get(ch)
        if known is None:
            known = self._known[ch] = ch in self._vocabulary or f"▁{ch}" in self._vocabulary
        return known

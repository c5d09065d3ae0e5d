"""Words of a text as tracking rules see them: folded, tokenised once, with positions.

Folding is lowercase, then NFKD with the combining marks (U+0300..U+036F) dropped, plus the
letters NFKD leaves whole (``ł`` → ``l``, ``ø`` → ``o``, ``ß`` → ``ss``...). That is what the
mentions index's lowercase + asciifolding analyzer does to ``message``, so a rule means the same
in the stream and in Elasticsearch: ``zamów`` matches "Zamow", "ZAMÓW" and "zamów" alike, and
``łódź`` matches "Lodz". A word is a run of ``\\w`` characters (letters, digits, underscore).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left

_MARKS = re.compile("[\u0300-\u036f]+")
_WORD = re.compile(r"\w+")
_WHOLE = (
    ("ł", "l"),
    ("ø", "o"),
    ("đ", "d"),
    ("ð", "d"),
    ("ħ", "h"),
    ("\u0131", "i"),
    ("ŀ", "l"),
    ("ß", "ss"),
    ("æ", "ae"),
    ("œ", "oe"),
    ("þ", "th"),
)
"""Letters NFKD leaves whole, and their plain forms (``in`` + ``replace`` per letter is several
times faster than ``str.translate`` with a table)."""


def fold(text: str) -> str:
    """Lowercase without diacritics: ``fold("Łódź, Győr") == "lodz, gyor"``."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    for letter, plain in _WHOLE:
        if letter in lowered:
            lowered = lowered.replace(letter, plain)
    return _MARKS.sub("", unicodedata.normalize("NFKD", lowered))


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return _WORD.findall(fold(text))


class TextWords:
    """One text, tokenised once: folded word -> its positions (0-based word indexes).

    Build one per text and hand it to every rule; the sorted word list for wildcards is made on
    first use only."""

    __slots__ = ("_sorted", "positions")

    def __init__(self, text: str) -> None:
        positions: dict[str, list[int]] = {}
        for index, word in enumerate(words(text)):
            found = positions.get(word)
            if found is None:
                positions[word] = [index]
            else:
                found.append(index)
        self.positions = positions
        self._sorted: list[str] | None = None

    def starting_with(self, prefix: str) -> list[str]:
        """The text's distinct words that start with ``prefix`` (itself included)."""
        ordered = self._sorted
        if ordered is None:
            ordered = self._sorted = sorted(self.positions)
        found = []
        for index in range(bisect_left(ordered, prefix), len(ordered)):
            if not ordered[index].startswith(prefix):
                break
            found.append(ordered[index])
        return found

    def has_prefix(self, prefix: str) -> bool:
        ordered = self._sorted
        if ordered is None:
            ordered = self._sorted = sorted(self.positions)
        index = bisect_left(ordered, prefix)
        return index < len(ordered) and ordered[index].startswith(prefix)

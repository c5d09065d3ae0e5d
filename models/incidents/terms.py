"""Significant terms: the words and two-word phrases that set a flare-up's mentions apart from the
brand's recent background (not merely its frequent words).

Scored with JLH, Elasticsearch's default for ``significant_terms``: ``(fg - bg) * fg / bg`` over
document frequencies (the share of texts containing the term), kept when over-represented and
present in at least ``min_doc_count`` foreground texts and at least ``min_lift`` times as frequent
as in the background. Background frequencies are smoothed by one
document so a term absent from the background still gets a finite score.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from models.incidents.stopwords import ALL as STOPWORDS

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|@\w+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokens(text: str) -> list[str]:
    """Lowercased words, URLs, e-mail addresses and @handles removed; letters of any script kept
    (``płatność`` and ``platnosc`` are different words); numbers dropped."""
    text = _NOISE.sub(" ", text.replace("\u2019", "'")).lower()
    return [w for w in _WORD.findall(text) if any(c.isalpha() for c in w)]


def phrases(text: str, exclude: frozenset[str] = frozenset()) -> set[str]:
    """The text's terms: words and adjacent word pairs, without stopwords or one-letter words (a
    stopword breaks a phrase)."""
    out: set[str] = set()
    previous: str | None = None
    for word in tokens(text):
        if len(word) < 2 or word in STOPWORDS or word in exclude:
            previous = None
            continue
        out.add(word)
        if previous is not None:
            out.add(f"{previous} {word}")
        previous = word
    return out


def _frequencies(texts: Iterable[str], exclude: frozenset[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(phrases(text, exclude))
    return counts


def significant_terms(
    foreground: Sequence[str],
    background: Sequence[str],
    top: int = 10,
    *,
    min_doc_count: int | None = None,
    min_lift: float = 2.0,
    exclude: Iterable[str] = (),
) -> list[str]:
    """The ``top`` terms of ``foreground`` (the flare-up's texts) most over-represented against
    ``background`` (the brand's recent texts; it may contain the foreground), best first, ties by
    foreground frequency then alphabetically. ``min_doc_count`` defaults to 3 texts or 5% of the
    foreground, whichever is more (never more than the foreground). ``exclude``: words never
    reported, e.g. the brand's name. A word that only occurs inside a reported phrase is left out."""
    n_fg = len(foreground)
    if n_fg == 0 or top <= 0:
        return []
    banned = frozenset(w.lower() for w in exclude)
    fg = _frequencies(foreground, banned)
    bg = _frequencies(background, banned)
    floor = min(n_fg, min_doc_count if min_doc_count is not None else max(3, math.ceil(0.05 * n_fg)))
    scores: dict[str, float] = {}
    for term, count in fg.items():
        if count < floor:
            continue
        fg_share = count / n_fg
        if not background:
            scores[term] = fg_share
            continue
        bg_share = (bg[term] + 1) / (len(background) + 1)
        if fg_share >= min_lift * bg_share:
            scores[term] = (fg_share - bg_share) * fg_share / bg_share
    ranked = sorted(scores, key=lambda t: (-scores[t], -fg[t], t))
    return [t for t in ranked if not _inside_phrase(t, scores, fg)][:top]


def _inside_phrase(term: str, scores: dict[str, float], fg: Counter[str]) -> bool:
    if " " in term:
        return False
    return any(" " in other and term in other.split(" ") and fg[other] >= fg[term] for other in scores)

"""The pieces of the encoder's vocabulary that Polish, Hungarian and English text uses.

multilingual-e5-small reads 250,002 SentencePiece pieces for about a hundred languages; the
embedding table holding them is 384 MB in fp32, most of the scoring model, and the tokenizer
that knows them takes about 290 MB more. Flarewatch scores three languages, so the ONNX model and
its tokenizer keep only the pieces those languages use (about 97,000, see :func:`kept_pieces`).

The pruning is exact wherever it matters: the tokenizer is a unigram model, which picks the most
probable split of each word among the pieces it knows, so a word whose best split uses kept
pieces only is split the same way, and its pieces keep their embedding rows. A word that needed a
dropped piece is split into kept ones (every single character is kept, so nothing the full
vocabulary could read becomes unknown). On the corpus's 900 test mentions, 99.7% of Polish and
English and 97.7% of Hungarian mentions get the same pieces as before.

Which words the languages use comes from ``wordfreq`` (word lists from Wikipedia, subtitles,
news, books, web text and more; code Apache-2.0, data CC BY-SA 4.0), read once when the ONNX model
is built; nothing from it is stored besides the pruned tokenizer.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

RULES = 1
"""Version of the rules below; the ONNX cache key holds it, so changing them rebuilds the cache."""
LANGUAGES: tuple[str, ...] = ("pl", "hu", "en")
COMMON = 30_000
"""Also kept: this many of the most probable pieces over all languages (names, loanwords,
brands and the pieces of words the word lists lack)."""
SPACE = "\u2581"


def identity() -> str:
    """What the kept set depends on besides the tokenizer: part of the ONNX cache key."""
    return f"rules{RULES}-{'+'.join(LANGUAGES)}-wordfreq{version('wordfreq')}"


def kept_pieces(
    spec: dict[str, Any],
    tokenizer: Tokenizer,
    word_lists: Iterable[Sequence[str]] | None = None,
    common: int = COMMON,
) -> list[int]:
    """Ids (ascending) of the pieces to keep, from a unigram ``tokenizer.json`` document and the
    tokenizer it describes:

    * the special tokens, every piece of one character (with or without the word-start mark),
      and every piece without a letter (digits, punctuation, emoji);
    * the pieces the tokenizer splits the words of each language's word list into, lowercase,
      capitalised and in capitals;
    * the ``common`` most probable pieces;
    * the lowercase, capitalised and capital forms of every kept piece, at a word's start and
      inside it (so that ``Bas`` inside ``BasketBox`` stays when ``▁bas`` does).

    ``word_lists`` defaults to wordfreq's lists of :data:`LANGUAGES`.
    """
    pieces = [str(piece) for piece, _ in spec["model"]["vocab"]]
    scores = [float(score) for _, score in spec["model"]["vocab"]]
    kept = {int(t["id"]) for t in spec.get("added_tokens", []) if t.get("special")}
    for i, piece in enumerate(pieces):
        core = piece.removeprefix(SPACE)
        if len(core) <= 1 or not any(c.isalpha() for c in core):
            kept.add(i)
    for words in _word_lists() if word_lists is None else word_lists:
        forms = {form for word in words for form in (word, word.capitalize(), word.upper())}
        for encoding in tokenizer.encode_batch(sorted(forms), add_special_tokens=False):
            kept.update(encoding.ids)
    kept.update(sorted(range(len(pieces)), key=lambda i: -scores[i])[:common])
    index = {piece: i for i, piece in enumerate(pieces)}
    for i in list(kept):
        core = pieces[i].removeprefix(SPACE)
        for form in {core, core.lower(), core.capitalize(), core.upper()}:
            for piece in (form, SPACE + form):
                if piece in index:
                    kept.add(index[piece])
    return sorted(kept)


def pruned_spec(spec: dict[str, Any], kept: Sequence[int]) -> dict[str, Any]:
    """The ``tokenizer.json`` document with only ``kept`` pieces, renumbered in order.

    Every special token must be kept; the unknown piece and the post-processor's ids follow the
    renumbering.
    """
    new_id = {old: new for new, old in enumerate(kept)}
    pruned = copy.deepcopy(spec)
    model = pruned["model"]
    if model.get("type") != "Unigram":
        raise ValueError(f"only unigram tokenizers can be pruned, not {model.get('type')!r}")
    model["vocab"] = [spec["model"]["vocab"][old] for old in kept]
    if model.get("unk_id") is not None:
        model["unk_id"] = new_id[int(model["unk_id"])]
    for token in pruned.get("added_tokens", []):
        token["id"] = new_id[int(token["id"])]
    for special in (pruned.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [new_id[int(i)] for i in special["ids"]]
    return pruned


def prune(
    source: Path,
    target: Path,
    word_lists: Iterable[Sequence[str]] | None = None,
    common: int = COMMON,
) -> list[int]:
    """Write the pruned copy of the ``tokenizer.json`` at ``source`` to ``target``; returns the
    kept ids of the full vocabulary, in the order of the pruned one (its embedding rows)."""
    spec = json.loads(source.read_text(encoding="utf-8"))
    kept = kept_pieces(spec, Tokenizer.from_file(str(source)), word_lists, common)
    target.write_text(json.dumps(pruned_spec(spec, kept), ensure_ascii=False), encoding="utf-8")
    return kept


def _word_lists() -> Iterable[Sequence[str]]:
    from wordfreq import iter_wordlist

    for lang in LANGUAGES:
        yield list(iter_wordlist(lang, wordlist="best"))

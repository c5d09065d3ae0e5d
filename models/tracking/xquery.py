"""A tracking rule as an X API v2 search query (a string; nothing here talks to X).

X's query language has words, ``"exact phrases"``, AND (a space), ``OR``, ``-`` negation and
parentheses, but no wildcards and no proximity. So the query is a *superset* of the rule: every
post the rule matches, the query matches too, and the collector narrows X's answer with the rule
itself. Each part of the rule is approximated from above (a superset) or, under a NOT, from below
(a subset: negating a subset gives a superset):

=====================  ==========================================  ================================
rule                   superset                                    subset
=====================  ==========================================  ================================
word, phrase           itself                                      itself
``zamów*``             anything (dropped)                          the whole word ``zamow``
phrase with a ``*``    its runs of plain words, ANDed              the phrase, ``*`` parts as words
``A NEAR/n B``         ``A B``                                     ``"A B" OR "B A"``
=====================  ==========================================  ================================

``orlen NOT giveaway*`` becomes ``orlen -giveaway``: a post with the word "giveaway" does not
match the rule, so leaving it out loses nothing; posts with "giveaways" still come back and the
rule drops them.

X's own limits are then met by widening further (never narrowing): it cannot negate a group
(``-(a OR b)`` becomes ``-a -b``; a NOT of an AND is dropped), and a negation cannot stand alone,
at the top or as an OR's operand (it is dropped, and an OR with a dropped operand matches
anything). A rule that widens to "anything" (only wildcards, only NOT) raises ``ValueError``: X
cannot search for everything, so the brand needs a hand-written ``x.query``.

Words reach X folded (the rule parser lowercases and strips diacritics). X matches a query with
accents to posts with and without them, but does not promise the reverse, so pass ``spellings``
(:func:`spellings`) to write each word as the rule wrote it: ``płatność``, not ``platnosc``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from models.tracking.grammar import And, Near, Node, Not, Phrase, Prefix, Unit, Word
from models.tracking.words import fold

MAX_QUERY_CHARS: Final = 512
"""X API v2 recent search: the longest query of a self-serve (pay-per-use) project."""


def x_query(
    tree: Node, *, spellings: Mapping[str, str] | None = None, max_chars: int = MAX_QUERY_CHARS
) -> str:
    """The X search query for a parsed rule (a superset of it; see the module's notes).

    ``spellings``: folded word -> how to write it (:func:`spellings` of the rule's text).
    Raises ``ValueError`` (one line) when X cannot search for the rule (it would match anything
    or nothing) or the query is longer than ``max_chars``."""
    query = _for_x(_nnf(_approx(tree, upper=True), negated=False))
    if query is TRUE:
        raise ValueError(
            "X cannot search for this tracking rule (only wildcards or NOT, which X has no "
            "operator for): set x.query for the brand"
        )
    if query is FALSE:
        raise ValueError("this tracking rule matches no text: fix the rule or set x.query for the brand")
    text = _render(query, spellings or {}, inside=None)
    if len(text) > max_chars:
        raise ValueError(
            f"the X query built from the tracking rule is {len(text)} characters, over X's "
            f"{max_chars}: set a shorter x.query for the brand"
        )
    return text


_WORD = re.compile(r"\w+")


def spellings(rule: str) -> dict[str, str]:
    """Folded word -> the rule's own (lowercase) spelling of it, for words the rule wrote with
    diacritics (``"Płatność"`` gives ``{"platnosc": "płatność"}``); the first spelling wins."""
    found: dict[str, str] = {}
    for token in _WORD.findall(rule.lower()):
        folded = fold(token)
        if folded != token and _WORD.fullmatch(folded) and folded not in found:
            found[folded] = token
    return found


# -- the query as a tree ---------------------------------------------------------------------------


class _Const:
    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE: Final = _Const(True)
"""Matches any post (what cannot be expressed, from above)."""
FALSE: Final = _Const(False)


@dataclass(frozen=True, slots=True)
class _Lit:
    """A word (one) or an exact phrase (several), folded."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Neg:
    lit: _Lit


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Query


@dataclass(frozen=True, slots=True)
class _And:
    operands: tuple[_Query, ...]


@dataclass(frozen=True, slots=True)
class _Or:
    operands: tuple[_Query, ...]


_Query = _Const | _Lit | _Neg | _Not | _And | _Or


def _and(operands: Iterable[_Query]) -> _Query:
    flat: list[_Query] = []
    for operand in operands:
        if operand is FALSE:
            return FALSE
        if operand is TRUE:
            continue
        flat.extend(operand.operands if isinstance(operand, _And) else (operand,))
    unique = tuple(dict.fromkeys(flat))
    return TRUE if not unique else unique[0] if len(unique) == 1 else _And(unique)


def _or(operands: Iterable[_Query]) -> _Query:
    flat: list[_Query] = []
    for operand in operands:
        if operand is TRUE:
            return TRUE
        if operand is FALSE:
            continue
        flat.extend(operand.operands if isinstance(operand, _Or) else (operand,))
    unique = tuple(dict.fromkeys(flat))
    return FALSE if not unique else unique[0] if len(unique) == 1 else _Or(unique)


def _approx(node: Node, upper: bool) -> _Query:
    """A query that matches a superset (``upper``) or a subset of what ``node`` matches."""
    if isinstance(node, Word):
        return _Lit((node.text,))
    if isinstance(node, Prefix):
        return TRUE if upper else _Lit((node.text,))
    if isinstance(node, Phrase):
        if not upper or all(isinstance(part, Word) for part in node.parts):
            return _Lit(_texts(node))
        return _and(_Lit(run) for run in _word_runs(node.parts))
    if isinstance(node, Near):
        if upper:
            return _and((_approx(node.left, True), _approx(node.right, True)))
        left, right = _texts(node.left), _texts(node.right)
        return _or((_Lit(left + right), _Lit(right + left)))
    if isinstance(node, Not):
        return _Not(_approx(node.operand, not upper))
    parts = (_approx(operand, upper) for operand in node.operands)
    return _and(parts) if isinstance(node, And) else _or(parts)


def _texts(unit: Unit) -> tuple[str, ...]:
    """A unit's words, a wildcard's stem standing for the whole word."""
    return tuple(part.text for part in unit.parts) if isinstance(unit, Phrase) else (unit.text,)


def _word_runs(parts: tuple[Word | Prefix, ...]) -> list[tuple[str, ...]]:
    runs: list[tuple[str, ...]] = []
    run: list[str] = []
    for part in (*parts, None):
        if isinstance(part, Word):
            run.append(part.text)
        elif run:
            runs.append(tuple(run))
            run = []
    return runs


def _nnf(query: _Query, negated: bool) -> _Query:
    """Negations pushed down to single words and phrases (De Morgan)."""
    if isinstance(query, _Const):
        return query if not negated else FALSE if query is TRUE else TRUE
    if isinstance(query, _Lit):
        return _Neg(query) if negated else query
    if isinstance(query, _Neg):
        return query.lit if negated else query
    if isinstance(query, _Not):
        return _nnf(query.operand, not negated)
    parts = [_nnf(operand, negated) for operand in query.operands]
    return _or(parts) if isinstance(query, _And) == negated else _and(parts)


def _for_x(query: _Query) -> _Query:
    """Widened until X accepts it: every AND (the top, an OR's operand) has a positive operand."""
    if isinstance(query, _Neg):
        return TRUE
    if isinstance(query, _Or):
        return _or(_for_x(operand) for operand in query.operands)
    if isinstance(query, _And):
        negations = [operand for operand in query.operands if isinstance(operand, _Neg)]
        positive = _and(_for_x(operand) for operand in query.operands if not isinstance(operand, _Neg))
        return positive if isinstance(positive, _Const) else _and((positive, *negations))
    return query


def _render(query: _Query, spelled: Mapping[str, str], inside: type[_And] | type[_Or] | None) -> str:
    if isinstance(query, _Lit):
        words = " ".join(spelled.get(word, word) for word in query.words)
        return words if len(query.words) == 1 else f'"{words}"'
    if isinstance(query, _Neg):
        return "-" + _render(query.lit, spelled, None)
    assert isinstance(query, _And | _Or), query
    kind = type(query)
    text = (" " if kind is _And else " OR ").join(_render(o, spelled, kind) for o in query.operands)
    return f"({text})" if inside is not None and inside is not kind else text

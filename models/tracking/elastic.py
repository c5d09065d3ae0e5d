"""A tracking rule as an Elasticsearch query (a plain dict; nothing here talks to Elasticsearch).

* a word: ``match``; a wildcard, phrase or ``NEAR/n``: an ``intervals`` query (``prefix``;
  ``match``/``all_of`` with ``ordered: true, max_gaps: 0``; ``A NEAR/n B``: ``all_of`` with
  ``ordered: false, max_gaps: n``, or, where A and B could match the same word, ``any_of`` the two
  orders, each ordered, since unordered intervals may overlap and NEAR's sides do not);
* AND: ``bool.must`` (its NOT operands go to ``must_not``), OR: ``bool.should`` with
  ``minimum_should_match: 1``, NOT: ``bool.must_not``.

Words go out folded, as the stream matcher sees them; ``message`` is analysed with the standard
tokenizer, lowercase and asciifolding, after a char filter that splits words joined by ``.``,
``,``, ``:`` or an apostrophe (``allegro.pl``, ``don't``, ``3,5``: one token to the standard
tokenizer, two words to a rule), so both sides agree (tests/integration/test_rules_search.py
checks that on generated rules and texts). Known differences:

* an emoji is a token (a position) in search and no word to the matcher: ``"paczka nie"``
  matches "paczka 😡 nie" in the stream only; a lone ``_`` is the other way round.
* decomposed diacritics (NFD: ``o`` then U+0301 for ``ó``) keep their combining mark in the index
  (asciifolding folds only precomposed letters); the matcher drops it.
* an ``intervals`` prefix expands to at most 128 indexed terms and fails beyond, so keep
  wildcards specific (``zamów*``, not ``z*``).
* ``P NEAR/n P`` with the same phrase ``P`` of two or more words on both sides and ``n`` >= 1:
  Lucene merges the two sides into one repeating interval whose width it sums as
  ``start - end + 1`` per repeat (RepeatingIntervalsSource), right for one word only, so search
  may miss matches there. Read in Lucene's source, not measured.
"""

from __future__ import annotations

from typing import Any

from models.tracking.grammar import And, Near, Node, Not, Or, Phrase, Prefix, Unit, Word, parse

Query = dict[str, Any]


def to_elasticsearch(rule: str | Node, field: str = "message") -> Query:
    """The query for ``rule`` (text or parsed tree) on ``field``; a text rule that does not
    parse raises :class:`~models.tracking.grammar.RuleSyntaxError`."""
    return _query(parse(rule) if isinstance(rule, str) else rule, field)


def _query(node: Node, field: str) -> Query:
    if isinstance(node, Word):
        return {"match": {field: {"query": node.text}}}
    if isinstance(node, Prefix | Phrase | Near):
        return {"intervals": {field: _interval(node)}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [_query(node.operand, field)]}}
    if isinstance(node, Or):
        return {"bool": {"should": [_query(o, field) for o in node.operands], "minimum_should_match": 1}}
    return _conjunction(node, field)


def _conjunction(node: And, field: str) -> Query:
    must = [_query(o, field) for o in node.operands if not isinstance(o, Not)]
    must_not = [_query(o.operand, field) for o in node.operands if isinstance(o, Not)]
    body: Query = {}
    if must:
        body["must"] = must
    if must_not:
        body["must_not"] = must_not
    return {"bool": body}


def _interval(node: Unit | Near) -> Query:
    if isinstance(node, Word):
        return {"match": {"query": node.text}}
    if isinstance(node, Prefix):
        return {"prefix": {"prefix": node.text}}
    if isinstance(node, Phrase):
        if all(isinstance(part, Word) for part in node.parts):
            words = " ".join(part.text for part in node.parts)
            return {"match": {"query": words, "ordered": True, "max_gaps": 0}}
        parts = [_interval(part) for part in node.parts]
        return {"all_of": {"intervals": parts, "ordered": True, "max_gaps": 0}}
    return _near(node)


def _near(node: Near) -> Query:
    """``A NEAR/n B``: one unordered ``all_of`` with ``max_gaps: n`` where A and B cannot match the
    same word; otherwise A then B or B then A, each ordered (``ordered: false`` lets the two sides
    overlap, which NEAR's do not: ``zamów* NEAR/1 zamówienie`` would match a lone "zamówienie";
    ordered intervals never overlap)."""
    left, right, distance = _interval(node.left), _interval(node.right), node.distance
    if not _may_overlap(node.left, node.right):
        return {"all_of": {"intervals": [left, right], "ordered": False, "max_gaps": distance}}
    one_way = {"all_of": {"intervals": [left, right], "ordered": True, "max_gaps": distance}}
    if left == right:
        return one_way
    other_way = {"all_of": {"intervals": [right, left], "ordered": True, "max_gaps": distance}}
    return {"any_of": {"intervals": [one_way, other_way]}}


def _may_overlap(left: Unit, right: Unit) -> bool:
    """Whether some word could be matched by both sides."""
    ours, theirs = _parts(left), _parts(right)
    return any(_same_word_possible(a, b) for a in ours for b in theirs)


def _parts(unit: Unit) -> tuple[Word | Prefix, ...]:
    return unit.parts if isinstance(unit, Phrase) else (unit,)


def _same_word_possible(a: Word | Prefix, b: Word | Prefix) -> bool:
    if isinstance(a, Word) and isinstance(b, Word):
        return a.text == b.text
    if isinstance(a, Prefix) and isinstance(b, Prefix):
        return a.text.startswith(b.text) or b.text.startswith(a.text)
    word, prefix = (a, b) if isinstance(a, Word) else (b, a)
    return word.text.startswith(prefix.text)

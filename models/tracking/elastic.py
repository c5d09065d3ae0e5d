"""A tracking rule as an Elasticsearch query (a plain dict; nothing here talks to Elasticsearch).

* a word: ``match``; a wildcard, phrase or ``NEAR/n``: an ``intervals`` query (``prefix``;
  ``match``/``all_of`` with ``ordered: true, max_gaps: 0``; ``all_of`` with
  ``ordered: false, max_gaps: n``);
* AND: ``bool.must`` (its NOT operands go to ``must_not``), OR: ``bool.should`` with
  ``minimum_should_match: 1``, NOT: ``bool.must_not``.

Words go out folded, as the stream matcher sees them; ``message`` is analysed with lowercase +
asciifolding, so both sides agree. Known differences: Elasticsearch's standard tokenizer keeps
``allegro.pl`` and ``don't`` as one token where the matcher (and a rule) sees two words; an
``intervals`` prefix expands to at most 128 indexed terms and fails beyond, so keep wildcards
specific (``zamów*``, not ``z*``); ``all_of`` may count overlapping spans that NEAR does not.
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
    sides = [_interval(node.left), _interval(node.right)]
    return {"all_of": {"intervals": sides, "ordered": False, "max_gaps": node.distance}}

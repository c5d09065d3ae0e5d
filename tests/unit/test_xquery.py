"""Tracking rules as X search queries (models/tracking/xquery.py): examples, the errors, and a
property test: whenever a rule matches a text, an evaluator of X's query language written here
(words, "phrases", space = AND, OR, -negation, parentheses; X's own limits checked) matches it too."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.tracking.grammar import parse
from models.tracking.matcher import compile_rule
from models.tracking.words import TextWords, words
from models.tracking.xquery import MAX_QUERY_CHARS, spellings, x_query
from tests.strategies import render_rule


def q(rule: str) -> str:
    return x_query(parse(rule))


@pytest.mark.parametrize(
    ("rule", "query"),
    [
        ("orlen", "orlen"),
        ('orlen "nie działa"', 'orlen "nie dziala"'),
        ("orlen OR allegro", "orlen OR allegro"),
        ("(a OR b) (c OR d)", "(a OR b) (c OR d)"),
        ("a OR (b c) OR (d OR e)", "a OR (b c) OR d OR e"),
        ("orlen NOT giveaway", "orlen -giveaway"),
        ("orlen NOT giveaway*", "orlen -giveaway"),  # posts with the very word "giveaway" cannot match
        ('zamów* AND "nie doszło"', '"nie doszlo"'),  # a wildcard is dropped
        ('"zamów* nie doszło" OR blik', '"nie doszlo" OR blik'),  # a phrase keeps its plain words
        ('"a b* c d"', 'a "c d"'),
        ('paczka NEAR/2 "nie doszła"', 'paczka "nie doszla"'),  # NEAR: both sides
        ("x NOT (a NEAR/1 b)", 'x -"a b" -"b a"'),  # a subset of NEAR, negated
        ("x NOT (a OR b)", "x -a -b"),  # X cannot negate a group
        ("x NOT (a b)", "x"),  # nor negate an AND: dropped
        ("x (a OR NOT b)", "x"),  # a negation alone in an OR: the OR matches anything
        ("x NOT NOT y*", "x"),
        ("t-mobile OR allegro.pl", '"t mobile" OR "allegro pl"'),
        ("orlen orlen OR orlen", "orlen"),
    ],
)
def test_examples(rule: str, query: str) -> None:
    assert q(rule) == query


def test_spellings_write_words_as_the_rule_did() -> None:
    rule = 'Płatność OR BLIK NOT "nie działa" OR platnosc'
    assert spellings(rule) == {"platnosc": "płatność", "dziala": "działa"}
    assert x_query(parse(rule), spellings=spellings(rule)) == 'płatność OR (blik -"nie działa")'
    assert x_query(parse("Straße"), spellings=spellings("Straße")) == "straße"


@pytest.mark.parametrize("rule", ["zamów*", "NOT spam", "a* OR b", "NOT a NOT b", "a* NOT b"])
def test_a_rule_x_cannot_search_for_is_refused(rule: str) -> None:
    with pytest.raises(
        ValueError, match=r"^X cannot search for this tracking rule .*: set x\.query for the brand$"
    ):
        q(rule)


def test_the_query_length_limit() -> None:
    rule = " OR ".join(f"word{i:03d}" for i in range(60))  # 60 * 7 + 59 * 4 = 656 characters
    with pytest.raises(ValueError, match=r"is 656 characters, over X's 512: set a shorter x\.query"):
        q(rule)
    assert len(x_query(parse(rule), max_chars=700)) == 656
    assert MAX_QUERY_CHARS == 512


# --- property: the X query is a superset of the rule ------------------------------------------------

_WORDS = ["a", "Ą", "ab", "abc", "b", "bą", "c", "ca", "cab"]
"""Few words, so that rules and texts share them; with prefixes of each other for wildcards."""
_SEPARATORS = [" ", ", ", "! ", " - ", "\n"]

Tree = tuple[Any, ...]


def _unit() -> st.SearchStrategy[Tree]:
    part = st.tuples(st.sampled_from(["word", "prefix"]), st.sampled_from(_WORDS))
    return st.one_of(part, st.tuples(st.just("phrase"), st.lists(part, min_size=2, max_size=3)))


def _tree() -> st.SearchStrategy[Tree]:
    near = st.tuples(st.just("near"), _unit(), _unit(), st.integers(0, 2))
    return st.recursive(
        st.one_of(_unit(), near),
        lambda inner: st.one_of(
            st.tuples(st.just("not"), inner),
            st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)),
        ),
        max_leaves=7,
    )


_TOKEN = re.compile(r'\s*(?:(\()|(\))|(-)|"([^"]*)"|(\S+?)(?=[\s()]|$))')


class XQuery:
    """X's query language, as far as x_query writes it: words, "phrases", AND (a space), OR, a
    leading ``-`` on a word or phrase, parentheses. Matches a text's folded words (X ignores
    case and accents). Raises AssertionError on what X refuses: a negated group, a negation
    standing alone (the whole query, or an OR's operand)."""

    def __init__(self, query: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(query):
            match = _TOKEN.match(query, pos)
            assert match and match.end() > pos, f"cannot read {query[pos:]!r}"
            kinds = ["(", ")", "-", "phrase", "word"]
            index = next(i for i, g in enumerate(match.groups()) if g is not None)
            self.tokens.append((kinds[index], match.group(index + 1)))
            pos = match.end()
            while pos < len(query) and query[pos] == " ":
                pos += 1
        self.at = 0
        self.tree = self.disjunction()
        assert self.at == len(self.tokens), f"left over in {query!r}"

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def disjunction(self) -> Tree:
        operands = [self.conjunction()]
        while self.peek() == "word" and self.tokens[self.at][1] == "OR":
            self.at += 1
            operands.append(self.conjunction())
        return ("or", operands)

    def conjunction(self) -> Tree:
        operands = []
        while self.peek() in ("(", "-", "phrase", "word") and self.tokens[self.at][1] != "OR":
            operands.append(self.unary())
        assert operands, "an empty group"
        assert any(o[0] != "neg" for o in operands), "a negation cannot stand alone"
        return ("and", operands)

    def unary(self) -> Tree:
        kind, value = self.tokens[self.at]
        self.at += 1
        if kind == "-":
            assert self.peek() in ("word", "phrase"), "X cannot negate a group"
            return ("neg", self.unary())
        if kind == "(":
            inner = self.disjunction()
            assert self.peek() == ")", "unclosed group"
            self.at += 1
            return inner
        assert kind in ("word", "phrase"), kind
        found = words(value)
        assert found, f"a term without words: {value!r}"
        assert kind == "phrase" or len(found) == 1, f"a bare term of several words: {value!r}"
        return ("terms", found)

    def matches(self, text: str) -> bool:
        return _eval(self.tree, words(text))


def _eval(tree: Tree, text: list[str]) -> bool:
    kind = tree[0]
    if kind == "terms":
        size = len(tree[1])
        return any(text[i : i + size] == tree[1] for i in range(len(text) - size + 1))
    if kind == "neg":
        return not _eval(tree[1], text)
    results = (_eval(operand, text) for operand in tree[1])
    return any(results) if kind == "or" else all(results)


def _leaves(tree: Tree) -> list[str]:
    if tree[0] in ("word", "prefix"):
        return [tree[1]]
    if tree[0] == "phrase":
        return [part[1] for part in tree[1]]
    if tree[0] == "near":
        return _leaves(tree[1]) + _leaves(tree[2])
    if tree[0] == "not":
        return _leaves(tree[1])
    return [leaf for operand in tree[1] for leaf in _leaves(operand)]


def _text(vocabulary: list[str]) -> st.SearchStrategy[str]:
    """Texts made mostly of the rule's own words (and the longer words its wildcards reach), so
    that many of them match it, or nearly."""
    return st.lists(st.tuples(st.sampled_from(vocabulary), st.sampled_from(_SEPARATORS)), max_size=8).map(
        lambda pairs: "".join(w + s for w, s in pairs)
    )


def _tree_with_not() -> st.SearchStrategy[Tree]:
    """Rules that keep something positive next to a NOT: where a wrong negation would show."""
    return st.tuples(st.just("and"), st.tuples(_tree(), st.tuples(st.just("not"), _tree())))


@settings(max_examples=400, deadline=None)
@given(tree=st.one_of(_tree(), _tree_with_not()), data=st.data())
def test_the_query_matches_whatever_the_rule_matches(tree: Tree, data: st.DataObject) -> None:
    rule = compile_rule(render_rule(tree))
    try:
        query = x_query(rule.tree)
    except ValueError as exc:
        assert "set x.query for the brand" in str(exc)
        return
    x = XQuery(query)
    stems = {words(leaf)[0] for leaf in _leaves(tree)}
    vocabulary = [*sorted({w for w in _WORDS if any(words(w)[0].startswith(s) for s in stems)}), "zz"]
    short = [" ".join(ws) for n in range(4) for ws in itertools.product(vocabulary, repeat=n)]
    for text in short + data.draw(st.lists(_text(vocabulary), min_size=1, max_size=10)):
        if rule.matches(TextWords(text)):
            assert x.matches(text), (render_rule(tree), query, text)


def test_the_evaluator_reads_x_queries() -> None:
    x = XQuery('(a OR "b c") -d OR e')
    assert x.matches("a") and x.matches("B, C") and x.matches("e d")
    assert not x.matches("a d") and not x.matches("c b")
    for refused in ["-a", "a OR -b", "a -(b OR c)", '"a" (']:
        with pytest.raises(AssertionError):
            XQuery(refused)

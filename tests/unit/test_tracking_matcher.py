"""The compiled matcher: whole words, folding, phrases, wildcards, NEAR/n; and a property test
against a slow reference evaluator written here over the plain word list."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from models.tracking.matcher import RuleSet, compile_rule
from models.tracking.words import TextWords, fold, words
from tests.strategies import render_rule


def test_fold_and_words() -> None:
    assert fold("Zażółć GĘŚLĄ jaźń, Łódź") == "zazolc gesla jazn, lodz"
    assert fold("ŐRÜLT ügyfélszolgálat, Győr") == "orult ugyfelszolgalat, gyor"
    assert words("Nie działa!!! T-Mobile, allegro.pl;zamówienie#123") == [
        "nie",
        "dziala",
        "t",
        "mobile",
        "allegro",
        "pl",
        "zamowienie",
        "123",
    ]


def test_whole_words_ignoring_case_and_diacritics() -> None:
    rule = compile_rule("orlen")
    assert rule.matches("Stacja ORLEN znowu zamknięta")
    assert not rule.matches("na orlenie pusto")
    assert compile_rule("łódź").matches("LODZ") and compile_rule("lodz").matches("w Łodzi nie, w Łódź tak")
    assert compile_rule("ügyfélszolgálat").matches("az UGYFELSZOLGALAT nem működik")


def test_wildcards_and_phrases() -> None:
    rule = compile_rule('zamów* AND "nie doszło"')
    assert rule.matches("Zamówienie nr 5 nie doszło")
    assert rule.matches("zamowilem, a paczka NIE DOSZLO")
    assert not rule.matches("zamówienie doszło, nie")
    assert compile_rule("t-mob*").matches("T-Mobile nie działa")
    assert not compile_rule("t-mob*").matches("t. i mobile")


def test_near_counts_words_between_either_order() -> None:
    rule = compile_rule('paczka NEAR/2 "nie doszła"')
    assert rule.matches("paczka nie doszła")
    assert rule.matches("paczka znowu wczoraj nie doszła")
    assert not rule.matches("paczka znowu wczoraj rano nie doszła")
    assert rule.matches("nie doszła mi paczka")
    assert compile_rule("a NEAR/0 b").matches("b a") and not compile_rule("a NEAR/0 b").matches("a x b")
    assert not compile_rule('a NEAR/3 "a b"').matches("a b"), "sides must not overlap"
    assert compile_rule("a NEAR/3 a").matches("a x a") and not compile_rule("a NEAR/3 a").matches("a")


def test_boolean_logic() -> None:
    rule = compile_rule("orlen (paczka OR stacja) NOT giveaway*")
    assert rule.matches("orlen stacja")
    assert not rule.matches("orlen stacja GIVEAWAYS")
    assert not rule.matches("orlen")
    assert compile_rule("NOT spam").matches("") and not compile_rule("NOT spam").matches("spam")


def test_rule_set_runs_all_rules_on_one_tokenisation() -> None:
    rules = {
        name: compile_rule(rule)
        for name, rule in [
            ("orlen", "orlen NOT giveaway*"),
            ("allegro", 'allegro* OR "allegro pl"'),
            ("quiet", "NOT orlen"),
        ]
    }
    brands = RuleSet(rules)
    assert brands.matching("Orlen i Allegro") == ["orlen", "allegro"]
    assert brands.matching(TextWords("allegrowe sprawy")) == ["allegro", "quiet"]
    assert brands.matching("orlen giveaway") == []


# --- property test: the matcher agrees with a brute-force reference ---------------------------

_FOLD = str.maketrans("ąłóőöĄŁÓŐÖ", "alooo" + "alooo")
_WORD = st.sampled_from(
    ["a", "Ą", "A", "al", "Ał", "ało", "ALÓ", "lo", "ló", "Łó", "o", "ő", "Ö", "z", "zo", "zó"]
)
"""Few words, so that rules and texts share them; folded: a, al, alo, lo, o, z, zo."""
_SEPARATOR = st.sampled_from([" ", ", ", "! ", " - ", "\n", "\t", "... "])

Tree = tuple[Any, ...]


def ref_fold(word: str) -> str:
    return word.translate(_FOLD).lower()


def _unit() -> st.SearchStrategy[Tree]:
    part = st.tuples(st.sampled_from(["word", "prefix"]), _WORD)
    return st.one_of(part, st.tuples(st.just("phrase"), st.lists(part, min_size=2, max_size=3)))


def _tree() -> st.SearchStrategy[Tree]:
    near = st.tuples(st.just("near"), _unit(), _unit(), st.integers(0, 3))
    return st.recursive(
        st.one_of(_unit(), near),
        lambda inner: st.one_of(
            st.tuples(st.just("not"), inner),
            st.tuples(st.sampled_from(["and", "implicit", "or"]), st.lists(inner, min_size=2, max_size=3)),
        ),
        max_leaves=6,
    )


def _part_at(part: Tree, word: str) -> bool:
    wanted = ref_fold(part[1])
    return word == wanted if part[0] == "word" else word.startswith(wanted)


def ref_spans(unit: Tree, text: list[str]) -> list[tuple[int, int]]:
    parts = unit[1] if unit[0] == "phrase" else [unit]
    size = len(parts)
    return [
        (i, i + size - 1)
        for i in range(len(text) - size + 1)
        if all(_part_at(part, text[i + j]) for j, part in enumerate(parts))
    ]


def ref_eval(tree: Tree, text: list[str]) -> bool:
    kind = tree[0]
    if kind in ("word", "prefix", "phrase"):
        return bool(ref_spans(tree, text))
    if kind == "near":
        for a in ref_spans(tree[1], text):
            for b in ref_spans(tree[2], text):
                first, second = (a, b) if a[0] < b[0] else (b, a)
                if first[1] < second[0] and second[0] - first[1] - 1 <= tree[3]:
                    return True
        return False
    if kind == "not":
        return not ref_eval(tree[1], text)
    results = [ref_eval(operand, text) for operand in tree[1]]
    return any(results) if kind == "or" else all(results)


@st.composite
def _text(draw: st.DrawFn) -> tuple[str, list[str]]:
    raw = draw(st.lists(_WORD, max_size=10))
    separators = draw(st.lists(_SEPARATOR, min_size=len(raw), max_size=len(raw)))
    return "".join(w + s for w, s in zip(raw, separators, strict=True)), [ref_fold(w) for w in raw]


@settings(max_examples=300, deadline=None)
@given(tree=_tree(), texts=st.lists(_text(), min_size=1, max_size=4))
def test_matcher_agrees_with_reference(tree: Tree, texts: list[tuple[str, list[str]]]) -> None:
    rule = compile_rule(render_rule(tree))
    for text, reference_words in texts:
        assert rule.matches(text) == ref_eval(tree, reference_words), (render_rule(tree), text)


@settings(max_examples=100, deadline=None)
@given(trees=st.lists(_tree(), min_size=1, max_size=4), text=_text())
def test_rule_set_agrees_with_rules_one_by_one(trees: list[Tree], text: tuple[str, list[str]]) -> None:
    rules = {f"r{i}": compile_rule(render_rule(tree)) for i, tree in enumerate(trees)}
    expected = [name for name, tree in zip(rules, trees, strict=True) if ref_eval(tree, text[1])]
    assert RuleSet(rules).matching(text[0]) == expected

"""Tracking rule syntax: precedence, implicit AND, folding, and one-line errors with columns."""

from __future__ import annotations

import pytest

from models.tracking.grammar import And, Near, Not, Or, Phrase, Prefix, RuleSyntaxError, Word, parse


def test_precedence_near_then_not_then_and_then_or() -> None:
    assert parse("a OR NOT b c NEAR/2 d") == Or(
        (Word("a"), And((Not(Word("b")), Near(Word("c"), Word("d"), 2))))
    )


def test_implicit_and_flattens_with_explicit_and() -> None:
    assert parse("a b AND (c AND d)") == And((Word("a"), Word("b"), Word("c"), Word("d")))
    assert parse("(a OR b) OR c") == Or((Word("a"), Word("b"), Word("c")))


def test_words_fold_case_and_polish_and_hungarian_letters() -> None:
    assert parse("ZAMÓW* Łódź") == And((Prefix("zamow"), Word("lodz")))
    assert parse('"Győr ŐRÜLT ügyfél"') == Phrase((Word("gyor"), Word("orult"), Word("ugyfel")))


def test_phrases_wildcards_and_compound_words() -> None:
    assert parse('"zamów* teraz"') == Phrase((Prefix("zamow"), Word("teraz")))
    assert parse('"Orlen"') == Word("orlen")
    assert parse("T-Mobile") == Phrase((Word("t"), Word("mobile")))
    assert parse("t-mob*") == Phrase((Word("t"), Prefix("mob")))
    assert parse('zamówienie NEAR/3 "nie doszło"') == Near(
        Word("zamowienie"), Phrase((Word("nie"), Word("doszlo"))), 3
    )


def test_only_uppercase_keywords_are_operators() -> None:
    assert parse("and or near not") == And((Word("and"), Word("or"), Word("near"), Word("not")))
    assert parse("ANDROID NEARBY ORLEN NOTE") == And(
        (Word("android"), Word("nearby"), Word("orlen"), Word("note"))
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("orlen AND (paczka))", "unexpected ')' at column 19"),
        ("(orlen", "unexpected end of rule at column 7"),
        ("orlen AND", "unexpected end of rule at column 10"),
        ("OR orlen", "unexpected 'OR' at column 1"),
        ("a AND AND b", "unexpected 'AND' at column 7"),
        ('orlen "nie działa', "unterminated phrase at column 7"),
        ('a ""', "empty phrase at column 3"),
        ("*lot", "unexpected '*' at column 1"),
        ("a & b", "unexpected '&' at column 3"),
        ("a NEAR b", "NEAR needs a distance, as in NEAR/3 at column 3"),
        ("a NEAR/2 (b OR c)", "unexpected '(' at column 10"),
        ("a NEAR/2 b NEAR/3 c", "unexpected 'NEAR/3' at column 12"),
        ("   ", "empty rule at column 1"),
    ],
)
def test_syntax_errors_are_one_line_with_a_column(rule: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse(rule)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.column == int(message.rpartition(" ")[2])

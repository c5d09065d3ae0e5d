import json

import pytest

from models.labels import Category
from models.scores import Score
from streams.cli.score_io import MAX_LINE_BYTES, LineError, ScoreInput, parse_line, render


def test_valid_line() -> None:
    assert parse_line(b'{"id": 7, "text": "hej", "lang": "pl", "extra": 1}', 3) == ScoreInput(
        3, 7, "hej", "pl"
    )
    assert parse_line(b'{"id": "a", "text": ""}', 1) == ScoreInput(1, "a", "", None)


def test_blank_lines_are_skipped() -> None:
    assert parse_line(b"   ", 1) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{nope", "invalid JSON: Expecting property name enclosed in double quotes at column 2"),
        (b"[1, 2]", "expected a JSON object, got an array"),
        (b'{"text": "x"}', "missing field 'id'"),
        (b'{"id": true, "text": "x"}', "field 'id' must be a string or an integer, got a boolean"),
        (b'{"id": 1.5, "text": "x"}', "field 'id' must be a string or an integer, got a number"),
        (b'{"id": 1}', "missing field 'text'"),
        (b'{"id": 1, "text": 5}', "field 'text' must be a string, got a number"),
        (
            b'{"id": 1, "text": "x", "lang": 3}',
            "field 'lang' must be a string or null, got a number",
        ),
        (b'{"id": 1, "text": "\xff"}', "not valid UTF-8 (byte 0xff at offset 19)"),
    ],
)
def test_malformed_lines_are_errors_with_reasons(raw: bytes, reason: str) -> None:
    assert parse_line(raw, 9) == LineError(9, reason)
    assert str(LineError(9, reason)) == f"line 9: {reason}"


def test_huge_lines_are_refused_without_parsing() -> None:
    result = parse_line(b"x" * (MAX_LINE_BYTES + 1), 2)
    assert isinstance(result, LineError) and "limit" in result.reason


def test_render_has_exactly_the_contract_fields() -> None:
    score = Score(
        "pl",
        "negative",
        {"negative": 0.912345, "neutral": 0.05, "positive": 0.037655},
        True,
        0.8,
        Category.DELIVERY,
        "m:1",
        category_scores={"delivery": 0.9},
    )
    out = json.loads(render("x1", score))
    assert list(out) == [
        "id",
        "lang",
        "sentiment",
        "sentiment_scores",
        "complaint",
        "complaint_score",
        "category",
        "uncertain",
        "model",
    ]
    assert out["sentiment_scores"]["negative"] == 0.9123 and out["category"] == "delivery"
    unscored = Score("de", "unscored", {}, False, None, None, "m:1", "unsupported language 'de'")
    assert json.loads(render(2, unscored)) == {
        "id": 2,
        "lang": "de",
        "sentiment": "unscored",
        "sentiment_scores": {},
        "complaint": False,
        "complaint_score": None,
        "category": None,
        "uncertain": False,
        "model": "m:1",
    }

"""``flarewatch score`` as users run it: a subprocess reading JSON Lines."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.model

INPUT = (
    b"\n".join(
        [
            json.dumps(
                {
                    "id": "a",
                    "text": "Paczka nie dotarła od dwóch tygodni, kurier nie odbiera telefonu",
                    "lang": "pl",
                }
            ).encode(),
            b'{"id": "broken", "text": ',
            json.dumps({"id": 7, "text": "Köszönöm a gyors szállítást, minden tökéletes volt"}).encode(),
            json.dumps(
                {"id": "de", "text": "Meine Bestellung ist seit zwei Wochen nicht angekommen"}
            ).encode(),
            b'{"id": "bytes", "text": "\xff\xfe"}',
            json.dumps({"id": "wrong", "text": 42}).encode(),
            b"",
            json.dumps({"id": "empty", "text": "  "}).encode(),
            json.dumps({"id": "last", "text": "What time do you open on Sunday?"}).encode(),
        ]
    )
    + b"\n"
)


def test_score_contract() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streams", "score"], input=INPUT, capture_output=True, timeout=600, check=False
    )
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == ["a", 7, "de", "empty", "last"]
    for o in out:
        assert list(o) == [
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
    a, hu, de, empty, last = out
    assert (a["lang"], a["sentiment"], a["complaint"], a["category"]) == ("pl", "negative", True, "delivery")
    assert abs(sum(a["sentiment_scores"].values()) - 1) < 1e-3
    assert (hu["lang"], hu["sentiment"], hu["complaint"], hu["category"]) == ("hu", "positive", False, None)
    assert (de["sentiment"], de["sentiment_scores"], de["complaint_score"]) == ("unscored", {}, None)
    assert empty["sentiment"] == "unscored"
    assert (last["lang"], last["sentiment"]) == ("en", "neutral")
    assert a["model"].startswith("flarewatch-e5s:")
    assert a["uncertain"] is False and de["uncertain"] is False  # a clear complaint; unscored
    err = result.stderr.decode()
    assert "line 2: invalid JSON" in err
    assert "line 5: not valid UTF-8" in err
    assert "line 6: field 'text' must be a string, got a number" in err
    assert "line 4: unscored (unsupported language 'de')" in err
    assert "line 8: unscored (empty text)" in err


def test_missing_file_is_a_one_line_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streams", "score", "/nonexistent.jsonl"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr or "No such file" in result.stderr

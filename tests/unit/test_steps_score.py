"""The scoring step, lists in and lists out, with the fixed scorer instead of the model."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from models.scores import Score, ScoreRequest
from streams.worker.steps.score import ScoreStep
from tests.factories import mention
from tests.fakes.messages import DEEP, batch
from tests.fakes.scoring import FixedScorer

BRANDS = frozenset({"zakupowo"})


def test_valid_mentions_are_scored_in_order_and_bad_ones_dead_lettered() -> None:
    good = [mention(1, text="Platnosc BLIK nie dziala"), mention(2, text="super, dziekuje")]
    out = ScoreStep(FixedScorer(), BRANDS).run(
        batch(good[0], b"{not json", good[1], mention(3, brand="acme"))
    )
    assert [s.mention for s in out.scored] == good
    assert [(s.scores.sentiment, s.scores.category) for s in out.scored] == [
        ("negative", "payment"),
        ("positive", None),
    ]
    assert out.valid == [True, False, True, False]
    assert [(m.offset, d.stage) for m, d in out.dead] == [(1, "decode"), (3, "decode")]
    assert out.dead[0][1].reason.startswith("invalid JSON: ")
    assert out.dead[1][1].reason == "unknown brand 'acme' (not in the configured brands)"


def test_json_nested_100000_deep_is_a_dead_letter_not_a_crash() -> None:
    out = ScoreStep(FixedScorer(), BRANDS, max_bytes=len(DEEP)).run(batch(DEEP, mention(1)))
    assert len(out.scored) == 1
    ((_, letter),) = out.dead
    assert (letter.stage, letter.offset) == ("decode", 0)
    assert letter.reason == "JSON nested too deeply (more than 32 levels)"
    assert base64.b64decode(letter.value_b64) == DEEP[: len(base64.b64decode(letter.value_b64))]


def test_a_text_the_scorer_fails_on_is_dead_lettered_alone() -> None:
    scorer = FixedScorer()
    out = ScoreStep(scorer, BRANDS).run(batch(mention(1), mention(2, text="BOOM"), mention(3)))
    assert [s.mention.native_id for s in out.scored] == ["c1", "c3"]
    ((message, letter),) = out.dead
    assert (message.offset, letter.stage) == (1, "score")
    assert letter.reason.startswith("scoring failed: ScorerFailure: cannot score 'BOOM'")
    assert out.valid == [True, True, True]  # decoded fine: the scorer's failure is not bad input
    assert scorer.batches == 1 + 3  # the batch, then each text alone


class Miscounting:
    """Returns one score too few for a batch, right for one text; or a NaN probability."""

    model_id = "odd:1"

    def __init__(self, nan_for: str = "") -> None:
        self.inner = FixedScorer()
        self.nan_for = nan_for

    def score(self, requests: Sequence[ScoreRequest]) -> list[Score]:
        scores = self.inner.score(requests)
        if self.nan_for:
            return [_nan(s) if r.text == self.nan_for else s for r, s in zip(requests, scores, strict=True)]
        return scores[:-1] if len(scores) > 1 else scores


def _nan(score: Score) -> Score:
    return Score(
        **{**{f: getattr(score, f) for f in score.__slots__}, "sentiment_scores": {"negative": float("nan")}}
    )


def test_a_scorer_returning_too_few_scores_is_retried_one_by_one() -> None:
    out = ScoreStep(Miscounting(), BRANDS).run(batch(mention(1), mention(2)))
    assert [s.mention.native_id for s in out.scored] == ["c1", "c2"] and out.dead == []


def test_a_score_that_makes_no_valid_record_is_dead_lettered() -> None:
    out = ScoreStep(Miscounting(nan_for="tekst 2"), BRANDS).run(batch(mention(1), mention(2)))
    assert [s.mention.native_id for s in out.scored] == ["c1"]
    ((message, letter),) = out.dead
    assert (message.offset, letter.stage) == (1, "score")
    assert "finite number" in letter.reason


def test_every_extreme_input_ends_as_a_dead_letter_with_a_one_line_reason() -> None:
    base = json.loads(mention(1).model_dump_json())
    extremes = [
        DEEP[:200_000],
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        mention(1).model_dump_json().encode().replace(b'"followers":120', b'"followers":1' + b"0" * 5000),
        json.dumps({**base, "created_at": "9999-12-31T23:59:59-23:59"}).encode(),
        json.dumps({**base, "text": "a\ud800b"}).encode(),
        json.dumps({**base, "x\ny\u2028z\ud800": 1}).encode(),
        json.dumps({**base, "author": {"id": "u", "followers": float("inf")}}).encode(),
        json.dumps({**base, "schema_version": [1]}).encode(),
    ]
    out = ScoreStep(FixedScorer(), BRANDS).run(batch(*extremes))
    assert out.scored == [] and len(out.dead) == len(extremes)
    for _, letter in out.dead:
        assert letter.stage == "decode"
        assert letter.reason.splitlines() == [letter.reason] and len(letter.reason) <= 500
        assert letter.reason.isprintable()

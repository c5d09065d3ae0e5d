"""The scoring step: raw mention bytes in, scored mentions and dead letters out. No Kafka here."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from models.scores import Score, ScoreRequest
from streams.contracts.codec import Invalid, decode
from streams.contracts.limits import MAX_MESSAGE_BYTES
from streams.contracts.records import RawMention, ScoredMention, Scores, Stage, utc_now
from streams.worker.messages import Failed, Incoming, error_reason, failed

log = logging.getLogger("flarewatch.worker")


class TextScorer(Protocol):
    """What the step needs of a scorer: :class:`models.scorer.Scorer`, or a fake in tests."""

    @property
    def model_id(self) -> str: ...

    def score(self, requests: Sequence[ScoreRequest]) -> list[Score]:
        """One score per request, in order. May block; may raise (the step dead-letters)."""
        ...


@dataclass(slots=True)
class ScoreOutput:
    scored: list[ScoredMention] = field(default_factory=list)
    published: list[float | None] = field(default_factory=list)
    """Per scored mention: when its raw message was published (the Kafka timestamp), carried on to
    the scored message so that publish-to-indexed latency starts at the collector."""
    dead: list[Failed] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    """Per message: decoded and valid (for the dead-letter limit)."""
    unscored: int = 0
    seconds: float = 0.0


class ScoreStep:
    """Decode, check the brand, score. ``run`` is CPU-bound and blocks: call it in an executor.

    Every message ends as one scored mention or one dead letter (stage ``decode``: undecodable,
    invalid, unknown brand; ``score``: the scorer raised for it, alone). ``run`` never raises for
    anything a message holds or the scorer raises."""

    def __init__(
        self, scorer: TextScorer, brands: frozenset[str] = frozenset(), max_bytes: int = MAX_MESSAGE_BYTES
    ) -> None:
        self.scorer = scorer
        self.brands = brands
        """Brands the worker serves; empty: any brand."""
        self.max_bytes = max_bytes

    def run(self, batch: Sequence[Incoming]) -> ScoreOutput:
        out = ScoreOutput()
        mentions: list[tuple[Incoming, RawMention]] = []
        for message in batch:
            decoded = self._decode(message)
            out.valid.append(not isinstance(decoded, Invalid))
            if isinstance(decoded, Invalid):
                out.dead.append(failed(message, decoded.reason, Stage.DECODE))
            else:
                mentions.append((message, decoded))
        started = time.monotonic()
        scores = self._score([m for _, m in mentions])
        out.seconds = time.monotonic() - started
        now = utc_now()
        for (message, mention), score in zip(mentions, scores, strict=True):
            result = _scored(mention, score, now)
            if isinstance(result, str):
                out.dead.append(failed(message, result, Stage.SCORE))
            else:
                out.unscored += 0 if result.scores.unscored_reason is None else 1
                out.scored.append(result)
                out.published.append(message.timestamp)
        return out

    def _decode(self, message: Incoming) -> RawMention | Invalid:
        result = decode(RawMention, message.value, message.partition, message.offset, self.max_bytes)
        if isinstance(result, RawMention) and self.brands and result.brand not in self.brands:
            return Invalid(
                f"unknown brand {result.brand!r} (not in the configured brands)",
                message.partition,
                message.offset,
            )
        return result

    def _score(self, mentions: list[RawMention]) -> list[Score | str]:
        """A score per mention, or why scoring it alone failed."""
        requests = [ScoreRequest(m.text, m.lang) for m in mentions]
        try:
            scores: list[Score | str] = list(self.scorer.score(requests)) if requests else []
            if len(scores) == len(requests):
                return scores
            log.error("the scorer returned %d scores for %d texts", len(scores), len(requests))
        except Exception:
            log.exception("scoring a batch of %d failed; scoring one by one", len(requests))
        results: list[Score | str] = []
        for request in requests:
            try:
                results.append(self.scorer.score([request])[0])
            except Exception as exc:  # one bad text must not stop the stream
                results.append(error_reason("scoring", exc))
        return results


def _scored(mention: RawMention, score: Score | str, now: datetime) -> ScoredMention | str:
    """The scored mention, or why there is none: scoring failed, or its score does not make a valid
    record (a NaN probability, say)."""
    if isinstance(score, str):
        return score
    try:
        return ScoredMention(mention=mention, scores=_scores(score, mention), scored_at=now)
    except Exception as exc:
        return error_reason("scoring", exc)


def _scores(score: Score, mention: RawMention) -> Scores:
    """The brand's own posts and replies keep their sentiment but are never complaints:
    an apology that names the problem is not the brand complaining about itself."""
    own = mention.from_brand
    return Scores(
        lang=score.lang,
        sentiment=score.sentiment,  # type: ignore[arg-type]
        sentiment_scores=score.sentiment_scores,
        complaint=score.complaint and not own,
        complaint_score=score.complaint_score,
        category=score.category.value if score.category and not own else None,
        model=score.model,
        unscored_reason=score.unscored_reason,
        uncertain=score.uncertain,
    )

"""The scoring step: raw mention bytes in, scored mentions and dead letters out. No Kafka here."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from models.scorer import Score, Scorer, ScoreRequest
from streams.contracts.codec import Invalid, decode
from streams.contracts.records import DeadLetter, RawMention, ScoredMention, Scores, utc_now
from streams.kafka.dead_letters import dead_letter
from streams.worker.messages import Incoming

log = logging.getLogger("flarewatch.worker")


@dataclass(slots=True)
class ScoreOutput:
    scored: list[ScoredMention] = field(default_factory=list)
    dead: list[tuple[Incoming, DeadLetter]] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    """Per message: decoded and valid (for the dead-letter limit)."""
    unscored: int = 0
    seconds: float = 0.0


class ScoreStep:
    """``run`` is CPU-bound and blocks: call it in an executor. It never raises for bad input."""

    def __init__(self, scorer: Scorer, brands: frozenset[str] = frozenset(), max_bytes: int = 256 * 1024):
        self.scorer = scorer
        self.brands = brands
        self.max_bytes = max_bytes

    def run(self, batch: Sequence[Incoming]) -> ScoreOutput:
        out = ScoreOutput()
        mentions: list[tuple[Incoming, RawMention]] = []
        for message in batch:
            result = self._decode(message)
            out.valid.append(not isinstance(result, Invalid))
            if isinstance(result, Invalid):
                out.dead.append(
                    (
                        message,
                        dead_letter(result, "decode", message.topic, message.key, message.value),
                    )
                )
            else:
                mentions.append((message, result))
        started = time.monotonic()
        scores = self._score([m for _, m in mentions])
        out.seconds = time.monotonic() - started
        now = utc_now()
        for (message, mention), score in zip(mentions, scores, strict=True):
            if isinstance(score, str):
                invalid = Invalid(f"scoring failed: {score}", message.partition, message.offset)
                out.dead.append(
                    (
                        message,
                        dead_letter(invalid, "score", message.topic, message.key, message.value),
                    )
                )
                continue
            out.unscored += 0 if score.scored else 1
            out.scored.append(ScoredMention(mention=mention, scores=_scores(score, mention), scored_at=now))
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
        requests = [ScoreRequest(m.text, m.lang) for m in mentions]
        try:
            return list(self.scorer.score(requests))
        except Exception:
            log.exception("scoring a batch of %d failed; scoring one by one", len(requests))
        results: list[Score | str] = []
        for request in requests:
            try:
                results.append(self.scorer.score([request])[0])
            except Exception as exc:  # one bad text must not stop the stream
                results.append(f"{type(exc).__name__}: {exc}")
        return results


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
    )

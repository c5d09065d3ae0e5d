"""The scorer: language decision, then the backend, for a batch of mentions."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from models.backends import Backend
from models.labels import UNSCORED
from models.language import LanguageDecision, LanguageDetector
from models.scores import Score, ScoreRequest


class Scorer:
    """Scores batches. ``score`` is CPU-bound and blocks: run it in an executor in async code."""

    def __init__(
        self,
        backend: Backend,
        detector: LanguageDetector,
        overlap: bool = True,
        uncertain_below: float = 0.0,
    ) -> None:
        self.backend = backend
        self.detector = detector
        self.uncertain_below = uncertain_below
        """A scored text whose :attr:`Score.confidence` is below this is marked uncertain."""
        self.overlap = overlap
        """Detect languages on a thread of its own while the backend runs, instead of before it:
        the single-threaded detector then no longer leaves the other cores idle. Texts later
        found to be in an unsupported language were encoded for nothing (they are rare)."""
        self._detection: ThreadPoolExecutor | None = None

    @property
    def model_id(self) -> str:
        return self.backend.model_id

    def score(self, requests: Sequence[ScoreRequest]) -> list[Score]:
        early = [self.detector.precheck(r.text, r.lang) for r in requests]
        pending = [i for i, d in enumerate(early) if d is None]
        detected: Future[list[LanguageDecision]] | None = None
        if self.overlap and pending and len(requests) > 1:
            detected = self._detector_thread().submit(self._detect, requests, pending)
            candidates = [i for i, d in enumerate(early) if d is None or d.scorable]
        else:
            for i, decision in zip(pending, self._detect(requests, pending), strict=True):
                early[i] = decision
            candidates = [i for i, d in enumerate(early) if d is not None and d.scorable]
        predictions = dict(
            zip(candidates, self.backend.predict([requests[i].text for i in candidates]), strict=True)
        )
        if detected is not None:
            for i, decision in zip(pending, detected.result(), strict=True):
                early[i] = decision
        decisions = [d for d in early if d is not None]
        results: list[Score] = []
        for i, d in enumerate(decisions):
            p = predictions.get(i)
            if not d.scorable or p is None:
                results.append(self._unscored(d))
                continue
            score = Score(
                lang=d.lang,
                sentiment=p.sentiment.value,
                sentiment_scores=p.sentiment_scores,
                complaint=p.complaint,
                complaint_score=p.complaint_score,
                category=p.category,
                model=self.model_id,
                category_scores=p.category_scores,
            )
            confidence = score.confidence
            if confidence is not None and confidence < self.uncertain_below:
                score = dataclasses.replace(score, uncertain=True)
            results.append(score)
        return results

    def _detect(self, requests: Sequence[ScoreRequest], indices: list[int]) -> list[LanguageDecision]:
        return [self.detector.detect(requests[i].text) for i in indices]

    def _detector_thread(self) -> ThreadPoolExecutor:
        if self._detection is None:
            self._detection = ThreadPoolExecutor(max_workers=1, thread_name_prefix="language")
        return self._detection

    def _unscored(self, decision: LanguageDecision) -> Score:
        return Score(
            lang=decision.lang,
            sentiment=UNSCORED,
            sentiment_scores={},
            complaint=False,
            complaint_score=None,
            category=None,
            model=self.model_id,
            unscored_reason=decision.reason,
        )

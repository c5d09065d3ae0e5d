"""Evaluation of a scorer on a labelled split, per language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from models.corpus import Example
from models.labels import CATEGORIES, SENTIMENTS
from models.metrics import Confusion, calibration_error
from models.scores import Score

_SENTIMENTS = [s.value for s in SENTIMENTS]
_CATEGORIES = [c.value for c in CATEGORIES]


@dataclass(frozen=True, slots=True)
class LanguageReport:
    lang: str
    size: int
    sentiment: Confusion
    complaint: Confusion
    category: Confusion
    """Over true complaints: the category head's choice, whatever the complaint decision."""
    category_end_to_end: float
    """Share of true complaints reported as complaints with the right category."""
    complaint_ece: float
    """Expected calibration error of ``complaint_score`` against the true complaint flag."""
    sentiment_ece: float
    """Expected calibration error of the top sentiment score against that sentiment being right."""
    uncertain: float = 0.0
    """Share of the examples the scorer marked uncertain."""

    @property
    def sentiment_accuracy(self) -> float:
        return self.sentiment.accuracy()

    @property
    def sentiment_macro_f1(self) -> float:
        return self.sentiment.macro_f1(_SENTIMENTS)

    @property
    def complaint_f1(self) -> float:
        return self.complaint.f1("complaint")

    @property
    def category_accuracy(self) -> float:
        return self.category.accuracy()

    def summary(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "sentiment_accuracy": round(self.sentiment_accuracy, 4),
            "sentiment_macro_f1": round(self.sentiment_macro_f1, 4),
            "complaint_f1": round(self.complaint_f1, 4),
            "category_accuracy": round(self.category_accuracy, 4),
            "category_accuracy_end_to_end": round(self.category_end_to_end, 4),
            "complaint_ece": round(self.complaint_ece, 4),
            "sentiment_ece": round(self.sentiment_ece, 4),
            "uncertain": round(self.uncertain, 4),
        }


def evaluate(examples: Sequence[Example], scores: Sequence[Score]) -> dict[str, LanguageReport]:
    """Reports keyed by language, plus ``all``."""
    if len(examples) != len(scores):
        raise ValueError("one score per example expected")
    pairs = list(zip(examples, scores, strict=True))
    langs = sorted({ex.lang for ex in examples}, key=["pl", "hu", "en"].index)
    reports = {lang: _report(lang, [p for p in pairs if p[0].lang == lang]) for lang in langs}
    reports["all"] = _report("all", pairs)
    return reports


def _report(lang: str, pairs: list[tuple[Example, Score]]) -> LanguageReport:
    sentiment = Confusion.of(
        [ex.sentiment.value for ex, _ in pairs], [s.sentiment for _, s in pairs], _SENTIMENTS
    )
    complaint = Confusion.of(
        [_yes(ex.complaint) for ex, _ in pairs],
        [_yes(s.complaint) for _, s in pairs],
        ["complaint", "no"],
    )
    complaints = [(ex, s) for ex, s in pairs if ex.category is not None]
    category = Confusion.of(
        [ex.category.value for ex, _ in complaints if ex.category is not None],
        [_top(s.category_scores) for _, s in complaints],
        _CATEGORIES,
    )
    hits = sum(1 for ex, s in complaints if s.category is not None and s.category == ex.category)
    scored = [(ex, s) for ex, s in pairs if s.scored and s.complaint_score is not None]
    return LanguageReport(
        lang,
        len(pairs),
        sentiment,
        complaint,
        category,
        hits / len(complaints) if complaints else 0.0,
        complaint_ece=calibration_error(
            [s.complaint_score or 0.0 for _, s in scored], [ex.complaint for ex, _ in scored]
        ),
        sentiment_ece=calibration_error(
            [max(s.sentiment_scores.values()) for _, s in scored],
            [s.sentiment == ex.sentiment.value for ex, s in scored],
        ),
        uncertain=sum(s.uncertain for _, s in pairs) / len(pairs) if pairs else 0.0,
    )


def _yes(flag: bool) -> str:
    return "complaint" if flag else "no"


def _top(scores: dict[str, float]) -> str:
    return max(scores, key=lambda k: scores[k]) if scores else "unscored"


def render(reports: dict[str, LanguageReport]) -> str:
    lines = [
        f"{'lang':<5}{'n':>5}{'sent.acc':>10}{'sent.F1':>9}{'compl.F1':>10}{'cat.acc':>9}{'cat.e2e':>9}"
        f"{'compl.ECE':>11}{'sent.ECE':>10}{'uncertain':>11}"
    ]
    for lang, r in reports.items():
        lines.append(
            f"{lang:<5}{r.size:>5}{r.sentiment_accuracy:>10.3f}{r.sentiment_macro_f1:>9.3f}"
            f"{r.complaint_f1:>10.3f}{r.category_accuracy:>9.3f}{r.category_end_to_end:>9.3f}"
            f"{r.complaint_ece:>11.3f}{r.sentiment_ece:>10.3f}{r.uncertain:>11.3f}"
        )
    lines += [
        "",
        "ECE: expected calibration error over 10 equal-width bins (complaint_score against the true",
        "complaint flag; the top sentiment score against that sentiment being right).",
    ]
    for lang, r in reports.items():
        if lang == "all":
            continue
        lines += [
            "",
            f"== {lang}: sentiment",
            r.sentiment.render(),
            "",
            f"== {lang}: complaint",
            r.complaint.render(),
            "",
            f"== {lang}: category (true complaints)",
            r.category.render(),
        ]
    return "\n".join(lines)


def to_json(reports: dict[str, LanguageReport]) -> dict[str, Any]:
    return {
        lang: {
            **r.summary(),
            "confusion": {
                "sentiment": {"labels": r.sentiment.labels, "counts": r.sentiment.counts},
                "complaint": {"labels": r.complaint.labels, "counts": r.complaint.counts},
                "category": {"labels": r.category.labels, "counts": r.category.counts},
            },
        }
        for lang, r in reports.items()
    }

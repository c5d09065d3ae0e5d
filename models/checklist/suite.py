"""Load the behavioural cases, run them against a scoring function, report failure rates.

A scoring function takes ``(text, lang)`` pairs and returns one :class:`Score` each, in order; the
suite never loads a model itself, so it runs as well against a fake in a unit test as against the
real scorer in ``flarewatch model check``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.checklist.perturb import INVARIANCES, add_bad_news, brand_in
from models.corpus import LANGUAGES
from models.scores import Score

CASES_DIR = Path(__file__).parent / "cases"
CAPABILITIES: tuple[str, ...] = (
    "sarcasm",
    "contrast",
    "staff_experience",
    "polite_question",
    "emoji",
    "threat_to_leave",
    "off_topic",
    "negation",
    "no_diacritics",
    "typos",
    "mixed_language",
    "spam",
    "brand_reply",
)
MFT_MAX_FAILURES = 0.10
"""Bar: the share of minimum-functionality cases failed, in every capability and language."""
INV_MAX_CHANGED = 0.05
"""Bar: the share of invariance cases whose label changes, over the whole suite."""
DIR_TOLERANCE = 0.05
"""A directional case fails when the positive score rises by more than this."""
_SENTIMENTS = frozenset({"negative", "neutral", "positive"})
_KEYS = {"id", "lang", "capability", "text", "expect"}

ScoreFn = Callable[[Sequence[tuple[str, str]]], Sequence[Score]]


class SuiteError(ValueError):
    """A case file is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    lang: str
    capability: str
    text: str
    complaint: bool | None
    sentiments: frozenset[str] | None
    """The acceptable sentiments; None: any."""

    def failure(self, score: Score) -> str | None:
        """Why ``score`` fails this case, or None."""
        if not score.scored:
            return f"unscored ({score.unscored_reason})"
        wrong = []
        if self.complaint is not None and score.complaint != self.complaint:
            wrong.append(f"complaint {score.complaint}, expected {self.complaint}")
        if self.sentiments is not None and score.sentiment not in self.sentiments:
            wrong.append(f"sentiment {score.sentiment}, expected {'/'.join(sorted(self.sentiments))}")
        return "; ".join(wrong) or None


def load_cases(root: Path = CASES_DIR) -> list[Case]:
    cases = [case for lang in LANGUAGES for case in _load_file(root / f"{lang}.jsonl", lang)]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise SuiteError(f"duplicate case id {case.id}")
        seen.add(case.id)
    return cases


def _load_file(path: Path, lang: str) -> list[Case]:
    cases = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                cases.append(_parse(line, lang, f"{path}:{number}"))
    return cases


def _parse(line: str, lang: str, where: str) -> Case:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{where}: invalid JSON ({exc.msg})") from exc
    if not isinstance(raw, dict) or set(raw) != _KEYS:
        raise SuiteError(f"{where}: expected exactly the keys {sorted(_KEYS)}")
    if raw["lang"] != lang or raw["capability"] not in CAPABILITIES:
        raise SuiteError(f"{where}: lang must be {lang} and capability one of {', '.join(CAPABILITIES)}")
    text, expect = raw["text"], raw["expect"]
    if not isinstance(text, str) or not text.strip() or brand_in(text) is None:
        raise SuiteError(f"{where}: the text must name one of the suite's brands")
    if not isinstance(expect, dict) or not expect or set(expect) - {"complaint", "sentiment"}:
        raise SuiteError(f"{where}: expect takes 'complaint' and/or 'sentiment'")
    complaint = expect.get("complaint")
    if complaint is not None and not isinstance(complaint, bool):
        raise SuiteError(f"{where}: expect.complaint must be true or false")
    sentiment = expect.get("sentiment")
    sentiments = None
    if sentiment is not None:
        sentiments = frozenset([sentiment] if isinstance(sentiment, str) else sentiment)
        if not sentiments or not sentiments <= _SENTIMENTS:
            raise SuiteError(f"{where}: expect.sentiment must be among {sorted(_SENTIMENTS)}")
    return Case(str(raw["id"]), lang, raw["capability"], text, complaint, sentiments)


@dataclass(slots=True)
class Tally:
    total: int = 0
    failed: int = 0

    def add(self, failed: bool) -> None:
        self.total += 1
        self.failed += failed

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"cases": self.total, "failed": self.failed, "rate": round(self.rate, 4)}


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str
    """``mft``, ``inv:<perturbation>`` or ``dir``."""
    case: str
    capability: str
    lang: str
    text: str
    detail: str


@dataclass(slots=True)
class Report:
    model: str
    mft: dict[tuple[str, str], Tally] = field(default_factory=dict)
    inv: dict[tuple[str, str], Tally] = field(default_factory=dict)
    inv_by_perturbation: dict[str, Tally] = field(default_factory=dict)
    dir: dict[tuple[str, str], Tally] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def total(self, kind: str) -> Tally:
        cells = {"mft": self.mft, "inv": self.inv, "dir": self.dir}[kind]
        return _sum(list(cells.values()))

    def worst_mft(self) -> tuple[tuple[str, str], Tally] | None:
        cells = [(k, t) for k, t in self.mft.items() if t.total]
        return max(cells, key=lambda kv: kv[1].rate) if cells else None

    @property
    def mft_passed(self) -> bool:
        return all(t.rate <= MFT_MAX_FAILURES for t in self.mft.values())

    @property
    def inv_passed(self) -> bool:
        return self.total("inv").rate <= INV_MAX_CHANGED

    @property
    def passed(self) -> bool:
        return self.mft_passed and self.inv_passed


def run(cases: Sequence[Case], score: ScoreFn, model: str = "") -> Report:
    """Score every case, its invariance variants and its directional variant in one call."""
    inputs: list[tuple[str, str]] = [(c.text, c.lang) for c in cases]
    variants: list[tuple[int, str, str]] = []
    for i, case in enumerate(cases):
        for name, perturb in INVARIANCES.items():
            text = perturb(case.text, case.id)
            if text is not None and text != case.text:
                variants.append((i, f"inv:{name}", text))
        variants.append((i, "dir", add_bad_news(case.text, case.lang, case.id)))
    inputs += [(text, cases[i].lang) for i, _, text in variants]
    scores = list(score(inputs))
    if len(scores) != len(inputs):
        raise ValueError("the scoring function must return one score per text")
    report = Report(model)
    for case, s in zip(cases, scores, strict=False):
        cell = (case.capability, case.lang)
        reason = case.failure(s)
        report.mft.setdefault(cell, Tally()).add(reason is not None)
        if reason is not None:
            report.failures.append(Failure("mft", case.id, *cell, case.text, reason))
    for (i, kind, text), after in zip(variants, scores[len(cases) :], strict=True):
        case, before = cases[i], scores[i]
        cell = (case.capability, case.lang)
        if kind == "dir":
            rise = _positive(after) - _positive(before)
            failed = rise > DIR_TOLERANCE
            report.dir.setdefault(cell, Tally()).add(failed)
            detail = f"positive {_positive(before):.2f} -> {_positive(after):.2f}"
        else:
            failed = _label(after) != _label(before)
            report.inv.setdefault(cell, Tally()).add(failed)
            report.inv_by_perturbation.setdefault(kind.removeprefix("inv:"), Tally()).add(failed)
            detail = f"{'/'.join(map(str, _label(before)))} -> {'/'.join(map(str, _label(after)))}"
        if failed:
            report.failures.append(Failure(kind, case.id, *cell, text, detail))
    return report


def _label(score: Score) -> tuple[str, bool]:
    return score.sentiment, score.complaint


def _positive(score: Score) -> float:
    return score.sentiment_scores.get("positive", 0.0)


def _percent(tally: Tally | None) -> str:
    if tally is None or not tally.total:
        return "-"
    return f"{100 * tally.rate:.0f}% ({tally.failed}/{tally.total})"


def render(report: Report, failures: int = 0) -> str:
    """The table: minimum-functionality failures per capability and language, invariance changes
    and directional failures per capability, then the overall figures against the bars."""
    header = ["capability", *(f"MFT {lang}" for lang in LANGUAGES), "INV changed", "DIR failed"]
    rows = [header]
    for capability in CAPABILITIES:
        rows.append(
            [
                capability,
                *(_percent(report.mft.get((capability, lang))) for lang in LANGUAGES),
                _percent(_merge(report.inv, capability)),
                _percent(_merge(report.dir, capability)),
            ]
        )
    rows.append(
        [
            "all",
            *(_percent(_merge(report.mft, lang=lang)) for lang in LANGUAGES),
            _percent(report.total("inv")),
            _percent(report.total("dir")),
        ]
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"model {report.model}" if report.model else "", ""]
    for r in rows:
        lines.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    worst = report.worst_mft()
    mft = report.total("mft")
    lines += [
        "",
        f"minimum functionality: {_percent(mft)} failed; worst cell "
        + (f"{worst[0][0]}/{worst[0][1]} {_percent(worst[1])}" if worst else "-")
        + f"; bar {MFT_MAX_FAILURES:.0%} in every cell: {'PASS' if report.mft_passed else 'MISS'}",
        f"invariance: {_percent(report.total('inv'))} changed label ("
        + ", ".join(f"{k} {_percent(t)}" for k, t in report.inv_by_perturbation.items())
        + f"); bar {INV_MAX_CHANGED:.0%}: {'PASS' if report.inv_passed else 'MISS'}",
        f"directional: {_percent(report.total('dir'))} raised positivity by more than "
        f"{DIR_TOLERANCE} after a sentence saying it broke",
    ]
    if failures:
        lines += ["", f"first {failures} failures:"]
        lines += [f"  [{f.kind}] {f.case}: {f.detail}: {f.text}" for f in report.failures[:failures]]
    return "\n".join(lines).lstrip("\n")


def to_json(report: Report) -> dict[str, Any]:
    def cells(table: dict[tuple[str, str], Tally]) -> dict[str, dict[str, Any]]:
        return {
            capability: {
                lang: table[(capability, lang)].to_json() for lang in LANGUAGES if (capability, lang) in table
            }
            for capability in CAPABILITIES
        }

    return {
        "model": report.model,
        "bars": {"mft_max_failures_per_cell": MFT_MAX_FAILURES, "inv_max_changed": INV_MAX_CHANGED},
        "passed": {"mft": report.mft_passed, "inv": report.inv_passed, "all": report.passed},
        "overall": {kind: report.total(kind).to_json() for kind in ("mft", "inv", "dir")},
        "invariance_by_perturbation": {k: t.to_json() for k, t in report.inv_by_perturbation.items()},
        "mft": cells(report.mft),
        "inv": cells(report.inv),
        "dir": cells(report.dir),
        "failures": [
            {
                "kind": f.kind,
                "case": f.case,
                "capability": f.capability,
                "lang": f.lang,
                "text": f.text,
                "detail": f.detail,
            }
            for f in report.failures
        ],
    }


def _merge(
    table: dict[tuple[str, str], Tally], capability: str | None = None, lang: str | None = None
) -> Tally | None:
    """The cells of one capability (or of one language) added up; None when there are none."""
    parts = [t for (c, lg), t in table.items() if capability in (None, c) and lang in (None, lg)]
    return _sum(parts) if parts else None


def _sum(parts: list[Tally]) -> Tally:
    out = Tally()
    for t in parts:
        out.total += t.total
        out.failed += t.failed
    return out

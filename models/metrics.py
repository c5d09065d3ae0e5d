"""Classification metrics over label sequences: accuracy, F1, confusion matrices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Confusion:
    """``counts[i][j]``: true label ``labels[i]`` predicted as ``labels[j]``."""

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Confusion:
        if len(truth) != len(predicted):
            raise ValueError("truth and predictions differ in length")
        names = list(labels) + sorted({p for p in predicted if p not in labels})
        index = {name: i for i, name in enumerate(names)}
        grid = [[0] * len(names) for _ in names]
        for t, p in zip(truth, predicted, strict=True):
            grid[index[t]][index[p]] += 1
        return cls(tuple(names), tuple(tuple(row) for row in grid))

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts))

    def accuracy(self) -> float:
        hits = sum(self.counts[i][i] for i in range(len(self.labels)))
        return hits / self.total if self.total else 0.0

    def f1(self, label: str) -> float:
        i = self.labels.index(label)
        tp = self.counts[i][i]
        fp = sum(row[i] for row in self.counts) - tp
        fn = sum(self.counts[i]) - tp
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0

    def macro_f1(self, labels: Sequence[str]) -> float:
        return sum(self.f1(label) for label in labels) / len(labels)

    def render(self) -> str:
        width = max(8, *(len(x) for x in self.labels)) + 1
        head = "true \\ pred".ljust(width) + "".join(x[: width - 1].rjust(width) for x in self.labels)
        rows = [
            name.ljust(width) + "".join(str(v).rjust(width) for v in row)
            for name, row in zip(self.labels, self.counts, strict=True)
        ]
        return "\n".join([head, *rows])


def calibration_error(confidence: Sequence[float], outcome: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error: over equal-width bins of the predicted probability, the gap
    between the mean probability and the share of outcomes that came true, weighted by the bin's
    size (Guo et al., 2017). 0 is perfectly calibrated."""
    if len(confidence) != len(outcome):
        raise ValueError("confidence and outcome differ in length")
    if not confidence:
        return 0.0
    sums = [[0.0, 0, 0] for _ in range(bins)]
    for p, hit in zip(confidence, outcome, strict=True):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a probability must lie in [0, 1], not {p}")
        b = sums[min(int(p * bins), bins - 1)]
        b[0] += p
        b[1] += 1
        b[2] += hit
    return sum(abs(s / n - hits / n) * n for s, n, hits in sums if n) / len(confidence)

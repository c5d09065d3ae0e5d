"""The CSV contract of ``flarewatch detect``: one series of counts, one bucket per row.

```
timestamp,value
2024-03-04T10:00:00Z,12
2024-03-04T10:05:00+01:00,9
1709546700,14
```

- The header is ``timestamp,value`` (surrounding whitespace, a byte-order mark and letter case
  are ignored). Blank lines are skipped. Nothing but the header is required: no index column.
- A timestamp is ISO 8601, with or without an offset (none means UTC), or epoch seconds (an
  integer or a decimal). The two may be mixed.
- A value is a non-negative finite number; an empty value is a gap, like a missing row.
- Rows come in increasing time order; two rows in the same bucket are an error.
- The bucket width is inferred: the most common difference between consecutive timestamps, in
  whole seconds (a width of a minute or more within 5 s of whole minutes is rounded to them, so
  timestamps that jitter by a few seconds still give 300, not 299 or 301). A width can also be
  given, which a series of a single row needs.
- The grid starts at the first row, moved onto the epoch-aligned grid of that width when within a
  tenth of a bucket of it. Every row is rounded to the nearest bucket of the grid: jitter of less
  than half a bucket is absorbed; a row that falls into a bucket already taken is an error.
- Buckets without a row are gaps (``None``): a collector that was down, not a count of zero.

Any violation raises :class:`SeriesError` with the 1-based line number of the offending line.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

MAX_BUCKETS = 5_000_000
"""A series longer than this (a typo in a year, milliseconds given as seconds) is refused."""

_EPOCH = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class SeriesError(ValueError):
    """Bad CSV input, at ``line`` (1-based; 1 is the header)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Series:
    """A parsed series: every bucket from the first row to the last, gaps as ``None``."""

    bucket_seconds: int
    points: tuple[tuple[int, float | None], ...]

    @property
    def gaps(self) -> int:
        return sum(1 for _, value in self.points if value is None)


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    at: float
    value: float | None


def read_series(lines: Iterable[str], bucket_seconds: int | None = None) -> Series:
    """Parse the CSV contract from any iterable of text lines (a file, ``sys.stdin``, a list).

    ``bucket_seconds`` overrides the inferred width. Raises :class:`SeriesError`."""
    rows = _rows(lines)
    if bucket_seconds is not None and bucket_seconds <= 0:
        raise ValueError("bucket_seconds must be positive")
    width = bucket_seconds or _width(rows)
    return Series(width, _on_grid(rows, width))


def parse_timestamp(text: str) -> float:
    """Epoch seconds from ISO 8601 (no offset = UTC) or from epoch seconds; ValueError if neither."""
    text = text.strip()
    if _EPOCH.fullmatch(text):
        return float(text)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is neither ISO 8601 nor epoch seconds") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.timestamp()


def parse_value(text: str) -> float | None:
    """A count, or None for an empty field (a gap); ValueError if not a non-negative number."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"value {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"value {text!r} is not a finite number")
    if value < 0:
        raise ValueError(f"value {text!r} is negative")
    return value


def _width(rows: list[_Row]) -> int:
    """The most common positive step between consecutive rows, in whole seconds (ties: the
    smallest); within 5 s of whole minutes (and at least a minute), whole minutes."""
    if len(rows) < 2:
        line = rows[0].line if rows else 2
        raise SeriesError(line, "at least two rows are needed to infer the bucket width")
    steps = Counter(round(b.at - a.at) for a, b in pairwise(rows))
    positive = [(-count, step) for step, count in steps.items() if step > 0]
    if not positive:
        raise SeriesError(rows[1].line, "timestamps less than a second apart: no bucket width")
    width = min(positive)[1]
    if width > 86_400:
        raise SeriesError(rows[1].line, f"rows {width} s apart: buckets wider than a day are not supported")
    minutes = round(width / 60) * 60
    return minutes if width >= 55 and abs(width - minutes) <= 5 else width


def _rows(lines: Iterable[str]) -> list[_Row]:
    reader = csv.reader(lines)
    header: int | None = None
    rows: list[_Row] = []
    for fields in reader:
        if all(not f.strip() for f in fields):
            continue
        if header is None:
            header = _header(reader.line_num, fields)
            continue
        row = _row(reader.line_num, fields)
        if rows and row.at <= rows[-1].at:
            order = "repeats" if row.at == rows[-1].at else "is earlier than"
            raise SeriesError(row.line, f"timestamp {order} the one on line {rows[-1].line}")
        rows.append(row)
    if header is None:
        raise SeriesError(1, "empty input: expected the header line 'timestamp,value'")
    if not rows:
        raise SeriesError(header + 1, "no rows after the header")
    return rows


def _header(line: int, fields: list[str]) -> int:
    names = [f.strip().lstrip("\ufeff").strip().lower() for f in fields]
    if names != ["timestamp", "value"]:
        raise SeriesError(line, f"expected the header 'timestamp,value', got {','.join(fields)!r}")
    return line


def _row(line: int, fields: list[str]) -> _Row:
    if len(fields) != 2:
        raise SeriesError(line, f"expected 2 fields (timestamp,value), got {len(fields)}")
    try:
        return _Row(line, parse_timestamp(fields[0]), parse_value(fields[1]))
    except ValueError as exc:
        raise SeriesError(line, str(exc)) from None


def _on_grid(rows: list[_Row], width: int) -> tuple[tuple[int, float | None], ...]:
    origin = _origin(rows[0].at, width)
    span = round((rows[-1].at - origin) / width) + 1
    if span > MAX_BUCKETS:
        raise SeriesError(rows[-1].line, f"the series spans {span} buckets of {width}s (max {MAX_BUCKETS})")
    values: list[float | None] = [None] * span
    taken: dict[int, int] = {}
    for row in rows:
        index = round((row.at - origin) / width)
        if index in taken:
            raise SeriesError(
                row.line, f"falls in the same {width}s bucket as line {taken[index]} (duplicate row?)"
            )
        taken[index] = row.line
        values[index] = row.value
    return tuple((origin + i * width, value) for i, value in enumerate(values))


def _origin(first: float, width: int) -> int:
    aligned = round(first / width) * width
    return aligned if abs(first - aligned) <= width / 10 else round(first)

"""The CSV contract of ``flarewatch detect``: timestamps, width inference, gaps, every error."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.detection.csvseries import SeriesError, parse_timestamp, read_series

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z


def parse(text: str, bucket_seconds: int | None = None) -> list[tuple[int, float | None]]:
    return list(read_series(text.splitlines(keepends=True), bucket_seconds).points)


def error(text: str) -> SeriesError:
    with pytest.raises(SeriesError) as caught:
        read_series(text.splitlines(keepends=True))
    return caught.value


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01 00:00:00",
        "2024-01-01T01:00:00+01:00",
        "2023-12-31T19:00:00-05:00",
        "2024-01-01T00:00:00.000+00:00",
        "1704067200",
        "1704067200.0",
        " 1704067200 ",
    ],
)
def test_timestamps_iso_with_or_without_offset_or_epoch(stamp: str) -> None:
    assert parse_timestamp(stamp) == T0


def test_width_inferred_and_missing_rows_are_gaps() -> None:
    series = read_series(
        [
            "timestamp,value\n",
            "2024-01-01T00:00:00Z,3\n",
            "2024-01-01T00:05:00Z,4\n",
            "2024-01-01T00:20:00Z,5\n",
            "2024-01-01T00:25:00Z,\n",
            "2024-01-01T00:30:00Z,6.5\n",
        ]
    )
    assert series.bucket_seconds == 300
    assert series.points == (
        (T0, 3.0),
        (T0 + 300, 4.0),
        (T0 + 600, None),
        (T0 + 900, None),
        (T0 + 1200, 5.0),
        (T0 + 1500, None),
        (T0 + 1800, 6.5),
    )
    assert series.gaps == 3


def test_mixed_formats_hourly_and_epoch() -> None:
    points = parse(f"timestamp,value\n{T0},1\n2024-01-01T01:00:00Z,2\n{T0 + 3 * 3600},3\n")
    assert points == [(T0, 1.0), (T0 + 3600, 2.0), (T0 + 7200, None), (T0 + 10800, 3.0)]


def test_jitter_rounds_to_the_grid() -> None:
    rows = [T0 + 2, T0 + 299, T0 + 603, T0 + 898, T0 + 1201, T0 + 1799]
    series = read_series(["timestamp,value\n", *(f"{t},1\n" for t in rows)])
    assert series.bucket_seconds == 300
    assert [at for at, _ in series.points] == [T0 + 300 * i for i in range(7)]
    assert [v for _, v in series.points] == [1, 1, 1, 1, 1, None, 1]


def test_grid_not_aligned_to_the_epoch_is_kept() -> None:
    points = parse(f"timestamp,value\n{T0 + 1800},1\n{T0 + 5400},2\n")
    assert points == [(T0 + 1800, 1.0), (T0 + 5400, 2.0)]


def test_header_whitespace_case_bom_and_blank_lines() -> None:
    points = parse("\n\ufeff Timestamp , VALUE \n\n2024-01-01T00:00:00Z , 1\n\n2024-01-01T00:01:00Z,2\n\n")
    assert points == [(T0, 1.0), (T0 + 60, 2.0)]


def test_given_width_allows_a_single_row() -> None:
    assert parse("timestamp,value\n2024-01-01T00:00:00Z,7\n", bucket_seconds=300) == [(T0, 7.0)]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty input"),
        ("\n\n", 1, "empty input"),
        ("2024-01-01T00:00:00Z,3\n", 1, "expected the header"),
        ("time,count\n1,2\n", 1, "expected the header"),
        ("timestamp,value\n", 2, "no rows"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n", 2, "at least two rows"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z\n", 3, "expected 2 fields"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,1,2\n", 3, "expected 2 fields"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\nyesterday,1\n", 3, "neither ISO 8601 nor epoch"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n\n2024-01-01T00:05:00Z,abc\n", 4, "not a number"),
        ("timestamp,value\n2024-01-01T00:00:00Z,-1\n", 2, "negative"),
        ("timestamp,value\n2024-01-01T00:00:00Z,nan\n", 2, "not a finite number"),
        ("timestamp,value\n2024-01-01T00:00:00Z,inf\n", 2, "not a finite number"),
        ("timestamp,value\n2024-01-01T00:05:00Z,1\n2024-01-01T00:05:00Z,2\n", 3, "repeats"),
        ("timestamp,value\n2024-01-01T00:05:00Z,1\n2024-01-01T00:00:00Z,2\n", 3, "earlier than"),
        (
            "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,2\n2024-01-01T00:10:00Z,2\n"
            "2024-01-01T00:10:20Z,2\n",
            5,
            "same 300s bucket as line 4",
        ),
        ("timestamp,value\n0,1\n300,1\n9999999999,1\n", 4, "buckets"),
    ],
)
def test_errors_carry_the_line_number(text: str, line: int, words: str) -> None:
    caught = error(text)
    assert caught.line == line
    assert words in caught.message
    assert str(caught).startswith(f"line {line}: ")


GOOD = "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,2\n2024-01-01T00:10:00Z,3\n"


@given(st.text(alphabet=st.characters(blacklist_characters='\r\n"\x00', codec="utf-8"), max_size=40))
def test_a_garbage_row_parses_or_fails_at_its_line(row: str) -> None:
    try:
        read_series(io.StringIO(GOOD + row + "\n"))
    except SeriesError as exc:
        assert exc.line == 5

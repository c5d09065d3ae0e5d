"""``flarewatch detect [CSV]``, ``detect generate`` and ``detect evaluate``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import models.detection.evaluation as evaluation
from streams.cli.main import cli

FLAREWATCH = Path(sys.executable).parent / "flarewatch"
CSV = "timestamp,value\n" + "".join(f"2024-01-01T00:{m:02d}:00Z,{v}\n" for m, v in [(0, 1), (5, 2), (10, 30)])


@dataclass(frozen=True)
class FakeFlare:
    start: int
    peak: int
    end: int
    severity: str
    peak_value: float
    expected_at_peak: float


@pytest.fixture()
def fed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Sequence[tuple[int, float | None]], int]]:
    """Replace the detector: every bucket of 10 or more is a one-bucket flare."""
    calls: list[tuple[Sequence[tuple[int, float | None]], int]] = []

    def detect(points: Sequence[tuple[int, float | None]], width: int) -> list[FakeFlare]:
        calls.append((points, width))
        return [FakeFlare(t, t, t, "warning", v, 1.5) for t, v in points if v is not None and v >= 10]

    monkeypatch.setattr(evaluation, "detect_points", detect)
    monkeypatch.setattr(evaluation, "default_detector", detect)
    return calls


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["detect", *args], input=stdin)


def test_file_argument(tmp_path: Path, fed: list[object]) -> None:
    (tmp_path / "counts.csv").write_text(CSV)
    result = invoke(str(tmp_path / "counts.csv"))
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {
            "start": "2024-01-01T00:10:00Z",
            "peak": "2024-01-01T00:10:00Z",
            "end": "2024-01-01T00:10:00Z",
            "severity": "warning",
            "peak_value": 30.0,
            "expected": 1.5,
            "bucket_seconds": 300,
        }
    ]


@pytest.mark.parametrize("args", [(), ("-",), ("run",), ("run", "-"), ("--bucket-seconds", "300")])
def test_stdin(args: tuple[str, ...], fed: list[tuple[object, int]]) -> None:
    result = invoke(*args, stdin=CSV)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1
    assert fed[0][1] == 300


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "flarewatch: error: line 1: empty input"),
        ("2024-01-01T00:00:00Z,1\n", "flarewatch: error: line 1: expected the header"),
        (
            "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,x\n",
            "flarewatch: error: line 3: value 'x'",
        ),
        ("timestamp,value\n2024-01-01T00:00:00Z,-2\n", "flarewatch: error: line 2: value '-2' is negative"),
        (
            "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-08T00:00:00Z,2\n",
            "flarewatch: error: line 3: rows 604800 s apart: buckets wider than a day",
        ),
    ],
)
def test_bad_input_one_line_exit_2(text: str, message: str, fed: list[object]) -> None:
    result = invoke(stdin=text)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(message)
    assert not fed


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert "No such file" in result.stderr


def test_a_file_named_like_a_subcommand(
    tmp_path: Path, fed: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("generate").write_text(CSV)
    assert invoke("./generate").exit_code == 0
    assert invoke("run", "generate").exit_code == 0
    assert invoke("generate").exit_code == 2  # the subcommand: --out is missing


def test_help_names_the_subcommands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "[CSV | COMMAND [ARGS]...]" in result.stdout
    for name in ("run", "generate", "evaluate"):
        assert f"  {name} " in result.stdout


def test_generate_then_evaluate_the_directory(tmp_path: Path, fed: list[object]) -> None:
    out = tmp_path / "set"
    result = invoke("generate", "--out", str(out), "--series", "7", "--held-out")
    assert result.exit_code == 0, result.output
    assert "generated 7/7 series" in result.stderr
    headers = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert len(headers) == 7 and all((out / h["file"]).is_file() for h in headers)
    assert {h["bucket_seconds"] for h in headers} == {300, 3600}
    assert headers[0]["series"].startswith("1000000-")

    result = invoke("evaluate", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["series"] == 7 and 0 <= report["precision"] <= 1
    assert {"recall", "recall_3x", "median_delay_buckets", "false_incidents_per_series_week"} <= set(report)


def test_generate_is_deterministic_and_seeded(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            invoke("generate", "--out", str(tmp_path / name), "--series", "2", "--seed", "9").exit_code == 0
        )
    assert (tmp_path / "a" / "labels.jsonl").read_text() == (tmp_path / "b" / "labels.jsonl").read_text()
    assert (tmp_path / "a" / "0000009-normal-300s.csv").read_text() == (
        tmp_path / "b" / "0000009-normal-300s.csv"
    ).read_text()
    result = invoke("generate", "--out", str(tmp_path / "c"), "--seed", "1", "--held-out")
    assert result.exit_code == 2


def test_evaluate_built_in_set_table_and_check(fed: list[object]) -> None:
    result = invoke("evaluate", "--series", "4", "--check")
    assert result.exit_code in (0, 1)
    assert "recall (spikes >= 3x)" in result.stdout and "false incidents/series/week" in result.stdout
    assert len(fed) == 4


def test_evaluate_a_directory_with_a_bad_csv(tmp_path: Path, fed: list[object]) -> None:
    assert invoke("generate", "--out", str(tmp_path), "--series", "1").exit_code == 0
    csv = next(tmp_path.glob("*.csv"))
    csv.write_text("timestamp,value\n1,1\n2,oops\n")
    result = invoke("evaluate", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"flarewatch: error: {csv}: line 3: value 'oops' is not a number"
    assert invoke("evaluate", str(tmp_path / "..")).exit_code == 2


def test_the_installed_command_reads_stdin_and_fails_with_exit_2() -> None:
    bad = subprocess.run(
        [str(FLAREWATCH), "detect"],
        input="timestamp,value\n2024-01-01T00:00:00Z,1\nnot-a-time,3\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "flarewatch: error: line 3: timestamp 'not-a-time' is neither ISO 8601 nor epoch seconds"
    ]

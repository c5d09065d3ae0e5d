"""``flarewatch detect``: the detector offline, on a CSV of counts; and its evaluation."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from streams.cli.context import log

if TYPE_CHECKING:
    from models.detection.synthetic import LabelledSeries


class DetectGroup(click.Group):
    """A group whose default command is ``run``: any first argument that is not a subcommand's
    name (a file, ``-``, an option, nothing at all) goes to ``run``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DetectGroup, subcommand_metavar="[CSV | COMMAND [ARGS]...]")
def detect() -> None:
    """Detect flare-ups in a CSV of counts (`flarewatch detect [CSV]` is short for `flarewatch
    detect run [CSV]`), generate labelled synthetic series, or evaluate the detector on them.

    \b
    CSV: header `timestamp,value`, one bucket per row; timestamps ISO 8601 (no offset = UTC) or
    epoch seconds; the bucket width is inferred; missing rows are gaps. No CSV or `-`: stdin.
    A file named like a subcommand: `flarewatch detect ./generate`."""


@detect.command("run")
@click.argument("csv", required=False, default="-", type=click.File("r", encoding="utf-8"))
@click.option("--bucket-seconds", type=click.IntRange(min=1), help="Bucket width (default: inferred).")
@click.pass_context
def run(ctx: click.Context, csv: IO[str], bucket_seconds: int | None) -> None:
    """Detect flare-ups in a CSV (the default command).

    One JSON object per flare-up on stdout: start, peak and end (the first, highest and last
    flaring rows, ISO 8601 UTC), severity, peak_value, expected (the baseline at the peak),
    bucket_seconds. Bad input: one line `error: line N: ...` on stderr, exit code 2."""
    from models.detection.csvseries import SeriesError, read_series
    from models.detection.evaluation import detect_points

    if csv is sys.stdin and sys.stdin.isatty():
        raise click.UsageError("give a CSV file, or pipe one to stdin")
    try:
        series = read_series(csv, bucket_seconds)
    except SeriesError as exc:
        click.echo(f"flarewatch: error: {exc}", err=True)
        ctx.exit(2)
    for flare in detect_points(series.points, series.bucket_seconds):
        record = {
            "start": _iso(flare.start),
            "peak": _iso(flare.peak),
            "end": _iso(flare.end),
            "severity": flare.severity,
            "peak_value": flare.peak_value,
            "expected": round(flare.expected_at_peak, 3),
            "bucket_seconds": series.bucket_seconds,
        }
        click.echo(json.dumps(record))


@detect.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory.")
@click.option("--seed", type=int, help="First seed (default: the tuning set's).")
@click.option("--held-out", is_flag=True, help="The held-out set (disjoint seeds; the bars are on it).")
@click.option("--weeks", type=click.IntRange(2, 52), default=3, show_default=True)
@click.option("--series", "count", type=click.IntRange(1, 100_000), default=60, show_default=True)
def generate(out: Path, seed: int | None, held_out: bool, weeks: int, count: int) -> None:
    """Write a labelled synthetic set.

    One CSV per series (the `flarewatch detect` contract) and labels.jsonl (one line per series:
    file, profile, bucket width, labelled events). Progress on stderr."""
    from models.detection.synthetic import HELD_OUT_SEED, TUNING_SEED, generate_series, series_kind

    if held_out and seed is not None:
        raise click.UsageError("--held-out and --seed exclude each other")
    first = HELD_OUT_SEED if held_out else TUNING_SEED if seed is None else seed
    out.mkdir(parents=True, exist_ok=True)
    with (out / "labels.jsonl").open("w", encoding="utf-8") as labels:
        for i in range(count):
            series = generate_series(first + i, series_kind(i), weeks)
            (out / f"{series.name}.csv").write_text("".join(series.csv_lines()), encoding="utf-8")
            labels.write(json.dumps(series.header_json()) + "\n")
            if (i + 1) % 10 == 0 or i + 1 == count:
                log(f"generated {i + 1}/{count} series in {out}")


@detect.command()
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--tuning", is_flag=True, help="Without DIRECTORY: the tuning set, not the held-out one.")
@click.option("--weeks", type=click.IntRange(2, 52), default=3, show_default=True)
@click.option("--series", "count", type=click.IntRange(1, 100_000), default=60, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the table.")
@click.option("--check", is_flag=True, help="Exit with 1 when a bar is not met.")
@click.pass_context
def evaluate(
    ctx: click.Context,
    directory: Path | None,
    tuning: bool,
    weeks: int,
    count: int,
    as_json: bool,
    check: bool,
) -> None:
    """Score the default detector on a labelled set.

    Event-level precision, recall (all spikes, by height), median delay in buckets and false
    incidents per series per week, on a directory written by `generate` (default: the built-in
    held-out set, generated in memory)."""
    from models.detection.evaluation import evaluate as run_evaluation
    from models.detection.synthetic import held_out_set, tuning_set

    try:
        if directory is not None:
            report = run_evaluation(_read_set(directory))
        else:
            report = run_evaluation((tuning_set if tuning else held_out_set)(count, weeks))
    except BadSet as exc:
        click.echo(f"flarewatch: error: {exc}", err=True)
        ctx.exit(2)
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.table())
    if check and report.failures():
        ctx.exit(1)


class BadSet(Exception):
    """A labelled directory that cannot be read: a bad CSV or labels line."""


def _read_set(directory: Path) -> Iterator[LabelledSeries]:
    """The series of a `generate` directory, each CSV read through the CSV contract."""
    from models.detection.csvseries import SeriesError, read_series
    from models.detection.synthetic import LabelledSeries

    labels = directory / "labels.jsonl"
    if not labels.is_file():
        raise BadSet(f"{labels} not found: not a directory written by `flarewatch detect generate`")
    for number, text in enumerate(labels.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            header = json.loads(text)
            path = directory / header["file"]
            with path.open(encoding="utf-8") as lines:
                series = read_series(lines)
            yield LabelledSeries.from_json(header, series.bucket_seconds, series.points)
        except SeriesError as exc:
            raise BadSet(f"{path}: {exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise BadSet(f"{labels}: line {number}: {exc!r}") from None


def _iso(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

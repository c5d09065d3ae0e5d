"""``flarewatch score``: score JSON Lines from a file or stdin."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import click

from models.loading import build_scorer
from models.scorer import Scorer
from models.scores import Score, ScoreRequest
from streams.cli.context import AppContext, log, scoring_overrides
from streams.cli.score_io import MAX_LINE_BYTES, LineError, ScoreInput, parse_line, render
from streams.config.scoring import scorer_config

_BAD_INPUT_REASONS = ("empty text",)


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--threads", type=click.IntRange(1, 256), help="Inference threads.")
@click.option("--batch-size", type=click.IntRange(1, 1024), help="Texts per model call.")
@click.option("--runtime", type=click.Choice(["onnx", "torch"]), help="onnx (default) or torch (fp32).")
@click.pass_obj
def score(
    app: AppContext,
    file: Path | None,
    threads: int | None,
    batch_size: int | None,
    runtime: str | None,
) -> int:
    """Score mentions: JSON Lines {"id", "text", "lang"?} in, one JSON object per line out.

    Malformed lines are reported on stderr with their line number and make the exit code 1;
    the other lines are still scored.
    """
    overrides = scoring_overrides(threads=threads, batch_size=batch_size, runtime=runtime)
    if runtime == "torch":
        overrides["scoring"]["quantization"] = "none"
    settings = app.settings(**overrides)
    scorer = build_scorer(scorer_config(settings), log)
    if file is None or str(file) == "-":
        return _run(scorer, sys.stdin.buffer, settings.scoring.batch_size)
    with file.open("rb") as stream:
        return _run(scorer, stream, settings.scoring.batch_size)


def _run(scorer: Scorer, stream: BinaryIO, batch_size: int) -> int:
    progress = _Progress()
    failures = 0
    for chunk in _chunks(stream, batch_size):
        valid = [item for item in chunk if isinstance(item, ScoreInput)]
        scores = iter(scorer.score([ScoreRequest(i.text, i.lang) for i in valid]))
        for item in chunk:
            if isinstance(item, LineError):
                log(str(item))
                failures += 1
                continue
            result = next(scores)
            failures += _report_unscored(item, result)
            sys.stdout.write(render(item.id, result) + "\n")
        sys.stdout.flush()
        progress.add(len(chunk))
    progress.finish(failures)
    return 1 if failures else 0


def _report_unscored(item: ScoreInput, result: Score) -> int:
    if result.unscored_reason is None:
        return 0
    log(f"line {item.line}: unscored ({result.unscored_reason})")
    return 1 if result.unscored_reason in _BAD_INPUT_REASONS else 0


def _chunks(stream: BinaryIO, size: int) -> Iterator[list[ScoreInput | LineError]]:
    chunk: list[ScoreInput | LineError] = []
    for number, raw in _lines(stream):
        item = parse_line(raw, number)
        if item is not None:
            chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Numbered lines without their newline; an over-long line is cut at the limit + 1 byte."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := stream.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass
        yield number, raw.rstrip(b"\r\n")


class _Progress:
    """Live count on an interactive stderr; a summary line at the end either way."""

    def __init__(self) -> None:
        self.started = self.shown = time.monotonic()
        self.done = 0
        self.live = sys.stderr.isatty()

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.live and now - self.shown >= 1.0:
            self.shown = now
            rate = self.done / (now - self.started)
            print(
                f"\rflarewatch: {self.done} lines ({rate:.0f}/s)",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def finish(self, failures: int) -> None:
        seconds = time.monotonic() - self.started
        if self.live:
            print(file=sys.stderr)
        log(f"{self.done} lines in {seconds:.1f}s, {failures} with errors")

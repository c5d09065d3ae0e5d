"""The real worker (Faust app, agents, sinks) with the fixed scorer instead of the model.

``python -m tests.fakes.worker --config FILE [--delay-file PATH] [--real-model]``: what
``flarewatch worker`` does, without paying for the transformer (``--real-model``: with it). The
delay file, when it exists, holds extra seconds each scoring batch takes; it is read before every
batch, so a test can slow scoring down (and speed it up again) while the worker runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from models.scores import Score, ScoreRequest
from streams.config.settings import load_settings
from streams.devstack.children import Child, spawn
from streams.worker.steps.score import TextScorer
from tests.fakes.scoring import FixedScorer

ROOT = Path(__file__).resolve().parents[2]


class SlowedScorer:
    """A scorer that first sleeps the seconds its delay file holds (read before every batch;
    absent or unreadable: no delay), then lets ``inner`` score."""

    def __init__(self, inner: TextScorer, delay_file: Path | None) -> None:
        self.inner = inner
        self.delay_file = delay_file
        self.model_id = inner.model_id

    def score(self, requests: Sequence[ScoreRequest]) -> list[Score]:
        delay = read_delay(self.delay_file)
        if delay:
            time.sleep(delay)
        return self.inner.score(requests)


def read_delay(path: Path | None) -> float:
    if path is None:
        return 0.0
    try:
        return max(0.0, float(path.read_text().strip() or 0))
    except (OSError, ValueError):
        return 0.0


def start(
    config: Path,
    folder: Path,
    delay_file: Path | None = None,
    real_model: bool = False,
    log_name: str = "worker.log",
) -> Child:
    """Start this worker as a child (dies with its parent), logging to ``folder/logs/worker.log``
    like ``streams.devstack.demo.start_worker``."""
    argv = [sys.executable, "-m", "tests.fakes.worker", "--config", str(config)]
    if delay_file is not None:
        argv += ["--delay-file", str(delay_file)]
    if real_model:
        argv.append("--real-model")
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return spawn("worker", argv, folder / "logs" / log_name, {**os.environ, "PYTHONPATH": path})


def main(argv: list[str] | None = None) -> int:
    from streams.cli.worker import model_scorer, prepare, run_worker

    parser = argparse.ArgumentParser(prog="python -m tests.fakes.worker")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--delay-file", type=Path)
    parser.add_argument("--real-model", action="store_true", help="the real scorer, not the fixed one")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warn", "error"])
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    prepare(settings)
    real = model_scorer(settings) if args.real_model else None

    def scorer() -> TextScorer:
        return SlowedScorer(real() if real else FixedScorer(), args.delay_file)

    return run_worker(settings, args.loglevel, scorer)


if __name__ == "__main__":
    sys.exit(main())

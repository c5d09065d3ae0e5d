"""``flarewatch worker``: the stream processor (scoring, indexing, spike detection)."""

from __future__ import annotations

import logging

import click

from models.scorer import Scorer, ScoreRequest
from streams.cli.context import AppContext, log
from streams.config.settings import Settings


def prepare(settings: Settings) -> None:
    """Topics and indices exist before any agent starts (both steps are idempotent)."""
    from streams.kafka.admin import ensure_topics
    from streams.search.client import layout, sync_client
    from streams.search.setup import ensure_layout

    ensure_topics(settings.kafka, log)
    with sync_client(settings.elasticsearch) as client:
        ensure_layout(client, layout(settings.elasticsearch), log)


def warmed_up(scorer: Scorer) -> Scorer:
    """Load the language models and run the encoder once, before the first real batch."""
    scorer.detector.warm_up()
    scorer.score([ScoreRequest("Zamówienie nie dotarło, a csomag sem, and no refund yet.")])
    return scorer


def run_worker(settings: Settings, loglevel: str = "info") -> int:
    """Blocks until the worker stops (SIGINT/SIGTERM or a fatal error); returns the exit code."""
    import faust

    from models.loading import shared_scorer
    from streams.config.scoring import scorer_config
    from streams.worker.app import Pipeline

    config = scorer_config(settings)
    pipeline = Pipeline(settings, lambda: warmed_up(shared_scorer(config)))
    worker = faust.Worker(pipeline.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    logging.getLogger("flarewatch").setLevel(loglevel.upper())
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        return 1 if pipeline.fatal else code
    return 1 if pipeline.fatal else 0


@click.command()
@click.option(
    "--loglevel",
    type=click.Choice(["debug", "info", "warn", "error"]),
    default="info",
    show_default=True,
)
@click.pass_obj
def worker(app: AppContext, loglevel: str) -> int:
    """Run the stream worker against the configured Kafka and Elasticsearch."""
    settings = app.settings()
    prepare(settings)
    return run_worker(settings, loglevel)

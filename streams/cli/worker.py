"""``flarewatch worker``: the stream processor (scoring, indexing, flare-up detection, incidents, paging)."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from models.scores import ScoreRequest
from streams.cli.context import AppContext, log
from streams.cli.stop_signals import stop_at_once, stop_signals
from streams.config.settings import Settings
from streams.worker.steps.score import TextScorer

if TYPE_CHECKING:
    from models.scorer import Scorer


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


def model_scorer(settings: Settings) -> Callable[[], Scorer]:
    """The real scorer's factory: loads and warms up the model when the scoring agent starts."""
    from models.loading import shared_scorer
    from streams.config.scoring import scorer_config

    config = scorer_config(settings)
    return lambda: warmed_up(shared_scorer(config))


def run_worker(
    settings: Settings, loglevel: str = "info", scorer_factory: Callable[[], TextScorer] | None = None
) -> int:
    """Blocks until the worker stops (SIGINT, SIGTERM, SIGHUP or a fatal error); returns the
    exit code: 0 after a stop signal. ``scorer_factory`` (default: the real model) runs in the
    scoring agent's thread.

    On a stop signal Faust stops fetching, waits until every message it handed to an agent is
    done (an agent acknowledges its batch only when it asks for the next one, after Kafka or
    Elasticsearch acknowledged what the batch wrote), commits those offsets and exits; a
    worker killed before that re-reads the batch after the last commit."""
    with stop_at_once():  # until the worker's own handlers take over
        from streams.worker.memory import limit_malloc_arenas

        limit_malloc_arenas(settings.worker.malloc_arenas)
        import faust

        from streams.worker.app import Pipeline

        pipeline = Pipeline(settings, scorer_factory or model_scorer(settings))
        worker = faust.Worker(pipeline.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    _stop_on_signals(worker)
    logging.getLogger("flarewatch").setLevel(loglevel.upper())
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        return 1 if pipeline.fatal else code
    return 1 if pipeline.fatal else 0


def _stop_on_signals(worker: Any) -> None:
    """Faust stops cleanly on SIGINT and SIGTERM once it runs; this covers its start-up too,
    and SIGHUP, which it does not handle (the default would kill the worker mid-batch)."""
    for sig in stop_signals():
        worker.loop.add_signal_handler(sig, worker._on_sigint if sig == signal.SIGINT else worker._on_sigterm)


@click.command()
@click.option(
    "--loglevel",
    type=click.Choice(["debug", "info", "warn", "error"]),
    default="info",
    show_default=True,
)
@click.pass_obj
def worker(app: AppContext, loglevel: str) -> int:
    """Run the stream worker against the configured Kafka and Elasticsearch. SIGINT, SIGTERM
    and SIGHUP stop it cleanly (exit 0)."""
    with stop_at_once():
        settings = app.settings()
        prepare(settings)
    return run_worker(settings, loglevel)

"""``flarewatch collect pages|search|feeds|webhooks``: bring mentions in from where customers
write, for months: poll on a schedule, publish to the raw topic, checkpoint after the broker's
acknowledgement. ``--once`` polls once and exits; ``--output FILE`` (``-``: stdout) writes the
raw mention records as JSON Lines instead of publishing, for trying a source."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from streams.cli.context import AppContext, log
from streams.cli.stop_signals import stop_between_steps
from streams.config.settings import Settings

if TYPE_CHECKING:
    from aiohttp import web

    from streams.collectors.metrics import CollectorMetrics
    from streams.collectors.publish import Offsets, Publisher
    from streams.collectors.source import Removal
    from streams.contracts.records import RawMention
    from streams.health import Health

FACTORIES = {
    "pages": "streams.collectors.facebook.pages:page_sources",
    "search": "streams.collectors.x:search_sources",
    "feeds": "streams.collectors.feeds:feed_sources",
}


@click.group()
def collect() -> None:
    """Collect mentions: brand pages (Facebook, Messenger, Instagram), public search (X), feeds
    (RSS/Atom), and the Facebook webhook endpoint."""


def _options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--once", is_flag=True, help="Poll every source once, then exit."),
        click.option(
            "--output",
            type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
            help="Write raw mentions as JSON Lines to FILE (- for stdout) instead of publishing; "
            "checkpoints are neither read nor written.",
        ),
        click.option(
            "--state-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Checkpoint folder (default: collectors.state_dir, else .flarewatch/collectors).",
        ),
        click.option(
            "--metrics-port",
            type=click.IntRange(0, 65535),
            help="Serve /metrics, /health/live and /health/ready on this port "
            "(default: collectors.metrics_port; none: not served).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _family(family: str, help_text: str) -> click.Command:
    @click.pass_obj
    def command(
        app: AppContext, once: bool, output: Path | None, state_dir: Path | None, metrics_port: int | None
    ) -> int:
        settings = app.settings()
        sources = _sources(family, settings)
        if not sources:
            raise click.ClickException(
                f"no brand has a source for `collect {family}`: see the README's Collectors"
            )
        return _run(settings, sources, once, output, state_dir, metrics_port)

    command.__doc__ = help_text
    return click.command(family)(_options(command))


collect.add_command(
    _family(
        "pages",
        "Poll each brand's Facebook page (posts, visitor posts, comments, Messenger) and Instagram "
        "comments through the Graph API.",
    )
)
collect.add_command(_family("search", "Search X (API v2 recent search) for each brand with an `x:` section."))
collect.add_command(_family("feeds", "Read the brands' RSS and Atom feeds with conditional GET."))


def _sources(family: str, settings: Settings) -> Sequence[Any]:
    import importlib

    module, _, name = FACTORIES[family].partition(":")
    factory = getattr(importlib.import_module(module), name)
    return list(factory(settings))


def _run(
    settings: Settings,
    sources: Sequence[Any],
    once: bool,
    output: Path | None,
    state_dir: Path | None,
    metrics_port: int | None,
) -> int:
    from streams.collectors.metrics import CollectorMetrics
    from streams.health import AppServer, Health, probe_app

    _log_to_stderr()
    metrics = CollectorMetrics()
    health = Health(("collecting", "broker"))
    port = metrics_port if metrics_port is not None else settings.collectors.metrics_port
    server = None
    if port is not None:
        server = AppServer(probe_app(health, metrics.registry), "0.0.0.0", port, name="probes").start()
        log(f"/metrics, /health/live and /health/ready on http://0.0.0.0:{server.port}")
    try:
        return _collect(settings, sources, once, output, state_dir, metrics, health)
    finally:
        if server is not None:
            server.stop()


def _collect(
    settings: Settings,
    sources: Sequence[Any],
    once: bool,
    output: Path | None,
    state_dir: Path | None,
    metrics: CollectorMetrics,
    health: Health,
) -> int:
    from streams.collectors.checkpoints import CheckpointStore
    from streams.collectors.filters import MentionFilter
    from streams.collectors.noise import NoiseScreen
    from streams.collectors.runner import Collector

    c = settings.collectors
    publisher = WatchedPublisher(_publisher(settings, output), health)
    store = CheckpointStore(state_dir or c.state_dir or Path(".flarewatch/collectors"))
    screen = NoiseScreen(c.noise, store.folder / "noise.json" if publisher.durable else None)
    with stop_between_steps() as stop:
        collector = Collector(
            publisher,
            store,
            MentionFilter(settings.brands),
            metrics,
            stop=stop,
            screen=screen,
            timeout_s=c.http_timeout_s,
        )
        health.passed("collecting")
        try:
            code = collector.run(sources, once, c.poll_interval_s)
        except BaseException as exc:
            health.died(f"the collect loop crashed: {type(exc).__name__}")
            raise
        finally:
            publisher.close()
        health.died(f"the collect loop ended (exit code {code})")
    if stop.is_set():
        return stop.stopped().exit_code
    return code


@collect.command("webhooks")
@click.option("--host", help="Address to listen on (default: collectors.facebook.webhook_host).")
@click.option("--port", type=int, help="Port (default: collectors.facebook.webhook_port).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write raw mentions as JSON Lines to FILE (- for stdout) instead of publishing.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Checkpoints and memory (default: collectors.state_dir, else .flarewatch/collectors).",
)
@click.option(
    "--poll/--no-poll",
    default=True,
    show_default=True,
    help="Also poll the brands' pages every collectors.poll_interval_s, to fill the gaps.",
)
@click.pass_obj
def webhooks(
    app: AppContext,
    host: str | None,
    port: int | None,
    output: Path | None,
    state_dir: Path | None,
    poll: bool,
) -> None:
    """Serve the Facebook webhook endpoint (page `feed` changes, Messenger `messages` and
    `message_echoes`): Meta's GET challenge, deliveries checked against X-Hub-Signature-256 (a bad
    signature is refused with 403 and counted), each answered 200 only once its mentions are
    published. /metrics, /health/live and /health/ready on the same port. The brands' pages are
    polled in the same process, and the polls publish only what the webhooks did not (the gaps)."""
    import asyncio
    import threading
    from datetime import timedelta

    from aiohttp import web

    from streams.collectors.checkpoints import CheckpointStore
    from streams.collectors.facebook.webhooks import ACCESS_LOG_FORMAT
    from streams.collectors.filters import MentionFilter
    from streams.collectors.metrics import CollectorMetrics
    from streams.collectors.noise import NoiseScreen
    from streams.collectors.runner import Collector
    from streams.collectors.seen import SeenIds
    from streams.config.secrets import read_secret
    from streams.health import Health

    settings = app.settings()
    c = settings.collectors.facebook
    pages = {b.facebook.page_id: b.name for b in settings.brands if b.facebook is not None}
    if not pages:
        raise click.ClickException("no brand has a facebook page_id: nothing would be accepted")
    app_secret = read_secret(c.app_secret_env, c.app_secret_file, "Facebook app secret")
    verify_token = read_secret(c.verify_token_env, c.verify_token_file, "webhook verify token")
    _log_to_stderr()
    health = Health(("broker",))
    publisher = WatchedPublisher(_publisher(settings, output), health)
    folder = state_dir or settings.collectors.state_dir or Path(".flarewatch/collectors")
    durable = publisher.durable
    screen = NoiseScreen(settings.collectors.noise, folder / "noise.json" if durable else None)
    window = timedelta(hours=c.lookback_hours)
    seen = SeenIds(window, folder / "webhooks-published.json" if durable else None)
    metrics = CollectorMetrics()

    async def sink(mentions: Sequence[RawMention], removals: Sequence[Removal]) -> None:
        kept = []
        for mention in mentions:
            if seen.knows(mention):  # a poll found it first
                metrics.filtered.labels("webhooks", "already_published").inc()
                continue
            out, reason = screen(mention)
            if out is None:
                metrics.filtered.labels("webhooks", reason or "noise").inc()
            else:
                kept.append(out)
        await asyncio.to_thread(publisher.send, kept)
        if removals:
            await asyncio.to_thread(publisher.send_removals, removals)
        seen.add(kept)
        metrics.published.labels("webhooks").inc(len(kept))
        await asyncio.to_thread(screen.save)  # at most once a minute
        await asyncio.to_thread(seen.save)

    server = webhook_server(app_secret, verify_token, pages, sink, c.webhook_path, metrics, health)
    bind, listen = host or c.webhook_host, port if port is not None else c.webhook_port
    stop = threading.Event()
    polls = None
    if poll:
        from streams.collectors.facebook.pages import page_sources

        collector = Collector(
            publisher,
            CheckpointStore(folder),
            MentionFilter(settings.brands),
            metrics,
            stop=stop,
            screen=screen,
            timeout_s=settings.collectors.http_timeout_s,
            seen=seen,
        )
        sources = page_sources(settings)
        interval = settings.collectors.poll_interval_s
        polls = threading.Thread(target=collector.run, args=(sources, False, interval), daemon=True)
    log(f"webhooks on http://{bind}:{listen}{c.webhook_path} for {len(pages)} page(s)")
    try:
        if polls is not None:
            polls.start()
        web.run_app(server, host=bind, port=listen, access_log_format=ACCESS_LOG_FORMAT, print=None)
    finally:
        stop.set()
        if polls is not None:
            polls.join(timeout=60)
        screen.save(force=True)
        seen.save(force=True)
        publisher.close()


def _log_to_stderr() -> None:
    logging.basicConfig(level=logging.WARNING, format="flarewatch: %(message)s")
    logging.getLogger("flarewatch").setLevel(logging.INFO)  # kafka-python's INFO lines are noise here


def _publisher(settings: Settings, output: Path | None) -> Publisher:
    """JSON Lines to ``output`` (``-``: stdout), or the raw topic (created if missing)."""
    from streams.collectors.publish import FilePublisher, KafkaPublisher

    if output is not None:
        return FilePublisher(output)
    from streams.kafka.admin import ensure_topics

    ensure_topics(settings.kafka, log)
    return KafkaPublisher(settings.kafka)


def webhook_server(
    app_secret: str,
    verify_token: str,
    pages: Mapping[str, str],
    sink: Any,
    path: str,
    metrics: CollectorMetrics,
    health: Health,
) -> web.Application:
    """The webhook endpoint at ``path`` with /metrics, /health/live and /health/ready beside it:
    live while it serves, ready while the broker took the last send."""
    from streams.collectors.facebook.webhooks import webhook_app
    from streams.health import add_probe_routes

    server = webhook_app(
        app_secret=app_secret,
        verify_token=verify_token,
        brands_by_page=pages,
        sink=sink,
        path=path,
        registry=metrics.registry,
    )
    add_probe_routes(server, health, metrics.registry)
    return server


T = TypeVar("T")


class WatchedPublisher:
    """A publisher that records in ``health`` whether its last call to the broker succeeded:
    the ``broker`` readiness check. A collector with nothing to send learns of an outage only
    when it next sends."""

    def __init__(self, inner: Publisher, health: Health) -> None:
        self.inner, self.health = inner, health
        self.durable = inner.durable
        health.passed("broker")  # the publisher exists: the broker answered at start-up

    def send(self, mentions: Sequence[RawMention]) -> None:
        self._watch(self.inner.send, mentions)

    def send_removals(self, removals: Sequence[Removal]) -> None:
        self._watch(self.inner.send_removals, removals)

    def end_offsets(self) -> Offsets:
        return self._watch(self.inner.end_offsets)

    def published_ids(self, since: Mapping[int, int]) -> set[str]:
        return self._watch(self.inner.published_ids, since)

    def close(self) -> None:
        self.inner.close()

    def _watch(self, call: Callable[..., T], *args: Any) -> T:
        try:
            result = call(*args)
        except Exception as exc:
            self.health.failed("broker", f"the last call to the broker failed: {type(exc).__name__}")
            raise
        self.health.passed("broker")
        return result

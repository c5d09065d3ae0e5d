"""``flarewatch web``: the crisis-room page on what has landed, without Kibana."""

from __future__ import annotations

import time
from pathlib import Path

import click
from aiohttp import web as aioweb
from elasticsearch import Elasticsearch

from streams.cli.context import AppContext, log
from streams.cli.incidents import send_command
from streams.cli.search import connect
from streams.cli.stop_signals import Stopped, stop_at_once
from streams.config.settings import Settings
from streams.contracts.incidents import IncidentCommand
from streams.devstack.embedded import port_taken
from streams.search.client import layout, sync_client
from streams.web.app import CommandUnavailable, Page, PageServer, build_app
from streams.web.queries import SearchData

PING_TIMEOUT_S = 2.0
"""A ping slower than this counts as no answer: the readiness probe never waits on it."""


def crisis_room(settings: Settings, client: Elasticsearch) -> aioweb.Application:
    """The page's app on ``client``; its acknowledgements go to the configured broker, and its
    readiness follows a ping of ``client`` in the background."""

    def acknowledge(command: IncidentCommand) -> None:
        try:
            send_command(settings.kafka, command, timeout_s=5)
        except click.ClickException as exc:
            raise CommandUnavailable(exc.message) from exc

    token = settings.web.token
    page = Page(
        SearchData(client, layout(settings.elasticsearch), settings.sla_policy()),
        token=None if token is None else token.get_secret_value(),
        refresh_s=settings.web.refresh_s,
        acknowledge=acknowledge,
        ping=lambda: bool(client.options(request_timeout=PING_TIMEOUT_S).ping()),
    )
    return build_app(page)


def serve_page(settings: Settings) -> PageServer:
    """The crisis room on the configured cluster and ``web.port`` (a free port when that one is
    taken), served from a thread; ``stop()`` it. For ``demo`` and ``up``."""
    client = sync_client(settings.elasticsearch)
    port = 0 if port_taken(settings.web.port) else settings.web.port
    return PageServer(crisis_room(settings, client), settings.web.host, port, on_stop=client.close).start()


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Show a demo's data folder (starts its search server while the page runs).",
)
@click.option("--port", type=click.IntRange(0, 65535), help="Default: web.port (8088).")
@click.option("--host", help="Default: web.host (127.0.0.1).")
@click.pass_context
def web(ctx: click.Context, data_dir: Path | None, port: int | None, host: str | None) -> int:
    """Serve the crisis room: live incidents, threads awaiting a reply, search, the volume and
    sentiment chart and the SLA figures. Read-only unless web.token is set. Also serves
    /health/live, /health/ready (the search server answers) and /metrics. Ctrl-C stops."""
    app = ctx.find_object(AppContext) or AppContext()
    try:
        with stop_at_once(), connect(app.settings(), data_dir) as (client, settings):
            server = PageServer(
                crisis_room(settings, client),
                host or settings.web.host,
                settings.web.port if port is None else port,
            ).start()
            click.echo(f"crisis room: {server.url}")
            try:
                while True:
                    time.sleep(3600)
            finally:
                server.stop()
    except Stopped as stopped:
        log(f"stopped by {stopped.name}")
        return stopped.exit_code
    return 0

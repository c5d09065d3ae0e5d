"""``flarewatch threads resolve``: close a conversation by hand."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.context import AppContext
from streams.cli.search import connect
from streams.contracts.records import utc_now
from streams.search.client import layout
from streams.search.thread_commands import resolve_thread


@click.group()
def threads() -> None:
    """Conversations: resolve one by hand."""


@threads.command()
@click.argument("key")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A demo's data folder (starts its search server).",
)
@click.pass_obj
def resolve(app: AppContext, key: str, data_dir: Path | None) -> None:
    """Mark the thread KEY (brand:platform:root, as in flarewatch.thread.key) resolved now. A
    later customer message opens it again. Exit 1 when there is no such thread."""
    with connect(app.settings(), data_dir) as (client, settings):
        thread = resolve_thread(client, layout(settings.elasticsearch), key, utc_now(), settings.sla_policy())
    if thread is None:
        raise click.ClickException(f"no thread {key}")
    click.echo(f"{key}: {thread.status} since {thread.status_changed_at:%Y-%m-%d %H:%M}Z")

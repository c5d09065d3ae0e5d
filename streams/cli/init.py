"""``flarewatch init``: create topics, index templates and indices. Safe to run again."""

from __future__ import annotations

import click

from streams.cli.context import AppContext, log


@click.command()
@click.pass_obj
def init(app: AppContext) -> None:
    """Create the Kafka topics and the Elasticsearch templates and indices (idempotent)."""
    from streams.kafka.admin import ensure_topics
    from streams.search.client import layout, sync_client
    from streams.search.setup import ensure_layout

    settings = app.settings()
    report = ensure_topics(settings.kafka, log)
    click.echo(
        f"topics: created {report.created or 'none'}, already there {sorted(report.existing) or 'none'}"
    )
    with sync_client(settings.elasticsearch) as client:
        created = ensure_layout(client, layout(settings.elasticsearch), log)
    click.echo(f"indices: created {created or 'none'}; templates up to date")

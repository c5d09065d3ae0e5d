"""``flarewatch init``: create topics, index templates and indices. Safe to run again."""

from __future__ import annotations

import click

from streams.cli.context import AppContext, log


@click.command()
@click.option(
    "--topics/--no-topics",
    default=True,
    show_default=True,
    help="Also create the Kafka topics. --no-topics: only the Elasticsearch side, for clusters "
    "where the topics are managed elsewhere (Strimzi's topic operator).",
)
@click.pass_obj
def init(app: AppContext, topics: bool) -> None:
    """Create the Kafka topics and the Elasticsearch templates and indices (idempotent)."""
    from streams.search.client import layout, sync_client
    from streams.search.setup import ensure_layout

    settings = app.settings()
    if topics:
        from kafka.errors import KafkaError

        from streams.kafka.admin import ensure_topics

        try:
            report = ensure_topics(settings.kafka, log)
        except KafkaError as exc:
            raise click.ClickException(
                f"cannot create the topics on {settings.kafka.bootstrap_servers}: {type(exc).__name__} "
                "(a broker that is not there, or refused credentials; --no-topics skips the topics)"
            ) from None
        click.echo(
            f"topics: created {report.created or 'none'}, already there {sorted(report.existing) or 'none'}"
        )
    else:
        click.echo("topics: not touched (--no-topics)")
    with sync_client(settings.elasticsearch) as client:
        created = ensure_layout(client, layout(settings.elasticsearch), log)
    click.echo(f"indices: created {created or 'none'}; templates up to date")

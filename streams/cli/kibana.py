"""``flarewatch kibana``: the crisis-room dashboard, its visualisations and data views as Kibana
saved objects: ``export`` prints the NDJSON, ``import`` loads it into a Kibana."""

from __future__ import annotations

import click

from streams.cli.context import settings_for
from streams.config.search import ElasticsearchSettings
from streams.search.client import layout
from streams.search.kibana.client import KibanaAuth, KibanaImportError, import_objects, import_url
from streams.search.kibana.objects import export_objects, to_ndjson


def kibana_auth(es: ElasticsearchSettings) -> KibanaAuth:
    return KibanaAuth(
        api_key=es.kibana_api_key.get_secret_value() if es.kibana_api_key else None,
        username=es.kibana_username,
        password=es.kibana_password.get_secret_value() if es.kibana_password else None,
    )


def _ndjson(es: ElasticsearchSettings) -> str:
    return to_ndjson(export_objects(layout(es)))


@click.group()
def kibana() -> None:
    """Kibana saved objects: data views, the crisis-room dashboard and its panels (Kibana 8.11+)."""


@kibana.command()
@click.pass_context
def export(ctx: click.Context) -> None:
    """Print the saved objects as NDJSON (the format of Kibana's saved objects export)."""
    click.echo(_ndjson(settings_for(ctx.obj, None).elasticsearch), nl=False)


@kibana.command("import")
@click.option("--url", help="Kibana's base URL (default: elasticsearch.kibana_url).")
@click.option("--space", help="Kibana space id (default: the default space).")
@click.pass_context
def import_(ctx: click.Context, url: str | None, space: str | None) -> None:
    """Load the saved objects into Kibana, overwriting earlier versions.

    \b
    Credentials: elasticsearch.kibana_api_key, or kibana_username and kibana_password (in the
    environment FLAREWATCH_ELASTICSEARCH__KIBANA_API_KEY and so on). Any failure: one line on
    stderr, exit code 1."""
    es = settings_for(ctx.obj, None).elasticsearch
    kibana_url = url or es.kibana_url
    try:
        import_url(kibana_url, space)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--space") from None
    try:
        result = import_objects(_ndjson(es), kibana_url, kibana_auth(es), space)
    except KibanaImportError as exc:
        click.echo(f"flarewatch: error: kibana import: {exc}", err=True)
        ctx.exit(1)
    click.echo(result.summary())

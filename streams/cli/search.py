"""``flarewatch search``: read what landed, without Kibana."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
from elasticsearch import Elasticsearch

from models.labels import CATEGORIES
from models.tracking.elastic import to_elasticsearch
from models.tracking.grammar import Node, RuleSyntaxError, parse
from streams.cli.context import AppContext, log
from streams.config.settings import Settings
from streams.search.client import layout, sync_client
from streams.search.queries import MentionFilter, format_mention, mention_query

DEMO_DIR = Path(".flarewatch/demo")


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date or time like 2026-11-19 or 2026-11-19T14:00"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@contextlib.contextmanager
def connect(settings: Settings, data_dir: Path | None) -> Iterator[tuple[Elasticsearch, Settings]]:
    """The configured cluster, or the embedded search server on a demo's data folder."""
    if data_dir is None:
        client = sync_client(settings.elasticsearch)
        if client.ping() or not (DEMO_DIR / "search").is_dir():
            with client:
                yield client, settings
            return
        log(f"{settings.elasticsearch.url} does not answer; reading the demo data in {DEMO_DIR}")
        data_dir = DEMO_DIR
    if not (data_dir / "search").is_dir():
        raise click.UsageError(f"{data_dir} holds no search data (run flarewatch demo first)")
    from streams.devstack.embedded import EmbeddedServers

    servers = EmbeddedServers(data_dir).start_search_only()
    try:
        local = settings.model_copy(
            update={"elasticsearch": settings.elasticsearch.model_copy(update={"url": servers.search_url})}
        )
        with sync_client(local.elasticsearch) as client:
            yield client, local
    finally:
        servers.stop()


@click.command()
@click.argument("query", default="")
@click.option(
    "--rule",
    metavar="RULE",
    help="Only mentions this tracking rule matches, e.g. 'zamów* NEAR/3 \"nie działa\" NOT giveaway'.",
)
@click.option("--brand")
@click.option("--complaints", is_flag=True, help="Only complaints.")
@click.option("--uncertain", is_flag=True, help="Only mentions scored below scoring.uncertain_below.")
@click.option("--sentiment", type=click.Choice(["negative", "neutral", "positive", "unscored"]))
@click.option("--category", type=click.Choice([c.value for c in CATEGORIES]))
@click.option("--lang")
@click.option("--since", help="From this time (UTC unless given), e.g. 2026-11-19T13:00.")
@click.option("--until", help="Before this time.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document per line.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Search a demo's data folder (starts its search server for the query).",
)
@click.pass_context
def search(
    ctx: click.Context,
    query: str,
    rule: str | None,
    brand: str | None,
    complaints: bool,
    uncertain: bool,
    sentiment: str | None,
    category: str | None,
    lang: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Search indexed mentions: full text (diacritics optional) plus filters, newest first.

    \b
    --rule RULE: only the mentions a tracking rule matches (the syntax of `flarewatch rules
    test`: words, "exact phrases", trailing wildcards (zamów*), AND, OR, NOT, parentheses,
    A NEAR/n B; case and diacritics ignored), together with QUERY and the other options.
    A rule that does not parse: one line on stderr, exit code 2. Search counts an emoji as a
    word, so a phrase around one can miss there what the stream matched (and indices made
    before 4 Dec 2026 keep allegro.pl, don't and 3,5 whole): `flarewatch rules test` shows
    the stream's answer for a text."""
    tree = _rule(ctx, rule)
    app: AppContext = ctx.obj
    flt = MentionFilter(
        query, brand, complaints, sentiment, category, lang, _when(since), _when(until), uncertain
    )
    wanted = mention_query(flt)
    if tree is not None:
        wanted = {"bool": {"must": [wanted], "filter": [to_elasticsearch(tree, field="message")]}}
    with connect(app.settings(), data_dir) as (client, settings):
        result = client.search(
            index=layout(settings.elasticsearch).mentions,
            query=wanted,
            size=limit,
            sort=[{"@timestamp": "desc"}],
            track_total_hits=True,
        )
    hits = result["hits"]["hits"]
    if as_json:
        for hit in hits:
            click.echo(json.dumps({"_id": hit["_id"], **hit["_source"]}, ensure_ascii=False))
        return
    click.echo(f"{result['hits']['total']['value']} mentions match; newest {len(hits)}:")
    for hit in hits:
        click.echo(format_mention(hit))


def _rule(ctx: click.Context, rule: str | None) -> Node | None:
    """The parsed ``--rule``; a syntax error is one line on stderr and exit code 2 (as in
    ``flarewatch rules test``), before any connection is made."""
    if rule is None:
        return None
    try:
        return parse(rule)
    except RuleSyntaxError as exc:
        click.echo(f"flarewatch: error: rule: {exc}", err=True)
        ctx.exit(2)

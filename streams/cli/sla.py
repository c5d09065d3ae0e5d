"""``flarewatch sla report``: how fast and how well the brands answered, from the thread documents."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from models.threads.metrics import GROUP_FIELDS, ReportRow
from streams.cli.context import AppContext
from streams.cli.search import _when, connect
from streams.search.client import layout
from streams.search.sla import sla_report


@click.group()
def sla() -> None:
    """Response-time figures: first and next response, response and resolution rates."""


@sla.command()
@click.option("--brand")
@click.option("--since", help="Threads started from this time (UTC unless given), e.g. 2026-11-01.")
@click.option("--until", help="Threads started before this time.")
@click.option(
    "--by",
    "group_by",
    type=click.Choice(GROUP_FIELDS),
    multiple=True,
    help="Group rows by these (repeatable; default brand, channel and category).",
)
@click.option(
    "--business-hours",
    is_flag=True,
    help="Count response times in each brand's business hours (threads.business_hours or the "
    "brand's service.business_hours) instead of the wall clock.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON array of rows.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report on a demo's data folder (starts its search server).",
)
@click.pass_obj
def report(
    app: AppContext,
    brand: str | None,
    since: str | None,
    until: str | None,
    group_by: tuple[str, ...],
    business_hours: bool,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Per brand, channel (public / private) and category: threads, volume, negative share,
    response rate, first- and next-response time (median and 90th percentile), resolution rate
    and time, and the threads with the commonest reply mistakes: sending the customer to the
    hotline or e-mail, and answering a public question only in private. The next-response clock
    starts at the oldest unanswered customer message."""
    start, end = _when(since), _when(until)
    with connect(app.settings(), data_dir) as (client, settings):
        rows = sla_report(
            client,
            layout(settings.elasticsearch),
            brand,
            start,
            end,
            group_by or GROUP_FIELDS,
            settings.sla_policy(),
            business_hours,
        )
    if as_json:
        clock = "business" if business_hours else "wall"
        click.echo(json.dumps([dataclasses.asdict(r) | {"clock": clock} for r in rows], indent=2))
        return
    click.echo(render(rows, "business hours" if business_hours else "wall clock"))


COLUMNS = (
    ("threads", 7),
    ("mentions", 8),
    ("neg", 5),
    ("answered", 8),
    ("first p50", 9),
    ("first p90", 9),
    ("next p50", 9),
    ("next p90", 9),
    ("resolved", 8),
    ("res p50", 8),
    ("hotline", 7),
    ("dm only", 7),
)


def render(rows: list[ReportRow], clock: str) -> str:
    if not rows:
        return "no threads in the period"
    keys = [" / ".join(v or "-" for v in _key(r)) for r in rows]
    width = max(12, *(len(k) for k in keys))
    head = f"{'':<{width}}" + "".join(f"  {name:>{w}}" for name, w in COLUMNS)
    lines = [f"response times in {clock}", head]
    for key, r in zip(keys, rows, strict=True):
        cells = (
            str(r.threads),
            str(r.mentions),
            _share(r.negative_share),
            _share(r.response_rate),
            duration(r.first_response_median),
            duration(r.first_response_p90),
            duration(r.next_response_median),
            duration(r.next_response_p90),
            _share(r.resolution_rate),
            duration(r.resolution_median),
            str(r.hotline_redirects),
            str(r.private_only),
        )
        lines.append(
            f"{key:<{width}}" + "".join(f"  {c:>{w}}" for c, (_, w) in zip(cells, COLUMNS, strict=True))
        )
    return "\n".join(lines)


def _key(row: ReportRow) -> list[str | None]:
    values = {"brand": row.brand, "channel": row.channel, "category": row.category}
    return [values[f] for f in row.grouped_by] or ["all"]


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def duration(seconds: float | None) -> str:
    """``5400`` -> ``1h30m``; ``90`` -> ``1m30s``; days above 48 hours."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 48 * 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"

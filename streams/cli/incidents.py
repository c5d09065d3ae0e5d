"""``flarewatch incidents``: list incidents, show one, acknowledge one."""

from __future__ import annotations

import getpass
import time
from collections.abc import Sequence
from pathlib import Path

import click
from kafka import KafkaProducer
from kafka.errors import KafkaError

from streams.cli.context import AppContext, settings_for
from streams.cli.search import connect
from streams.config.kafka import KafkaSettings
from streams.contracts.codec import encode
from streams.contracts.incidents import Incident, IncidentCommand, IncidentState
from streams.contracts.records import utc_now
from streams.kafka.clients import kafka_python_config
from streams.kafka.topics import Topics
from streams.search.client import layout, sync_client
from streams.search.incidents import read_incident, read_incidents

DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Read the search data of the `flarewatch up`/`demo` on this folder.",
)


@click.group(invoke_without_command=True)
@click.option("--brand")
@click.option("--open", "open_only", is_flag=True, help="Only incidents not resolved.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON incident per line.")
@DATA_DIR
@click.pass_context
def incidents(
    ctx: click.Context,
    brand: str | None,
    open_only: bool,
    limit: int,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """List incidents, the newest first; `incidents show ID` and `incidents ack ID` act on one."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext) or AppContext()
    with connect(app.settings(), data_dir) as (client, settings):
        found = read_incidents(client, layout(settings.elasticsearch), brand, open_only, limit)
    if as_json:
        for incident in found:
            click.echo(incident.model_dump_json())
        return
    if not found:
        click.echo("no open incidents" if open_only else "no incidents")
        return
    click.echo("\n".join(table(found)))


@incidents.command()
@click.argument("incident_id")
@click.option("--json", "as_json", is_flag=True, help="The incident as JSON.")
@DATA_DIR
@click.pass_obj
def show(app: AppContext, incident_id: str, as_json: bool, data_dir: Path | None) -> None:
    """One incident: counts, top terms, representative mentions, links and history."""
    with connect(app.settings(), data_dir) as (client, settings):
        incident = read_incident(client, layout(settings.elasticsearch), incident_id)
    if incident is None:
        raise click.ClickException(f"no incident {incident_id}")
    click.echo(incident.model_dump_json(indent=2) if as_json else describe(incident))


@incidents.command()
@click.argument("incident_id")
@click.option("--by", default=getpass.getuser, show_default="your user name", help="Who acknowledges.")
@click.option("--timeout", type=click.FloatRange(0), default=30.0, show_default=True, help="Seconds to wait.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use the broker and search server of the `flarewatch up` running on this folder.",
)
@click.pass_obj
def ack(app: AppContext, incident_id: str, by: str, timeout: float, data_dir: Path | None) -> None:
    """Acknowledge an open incident: sends the command to the worker and waits until the incident
    shows it. Exit 1 when the incident is unknown or resolved, or the worker did not apply it."""
    settings = settings_for(app, data_dir)
    names = layout(settings.elasticsearch)
    with sync_client(settings.elasticsearch) as client:
        incident = read_incident(client, names, incident_id)
        if incident is None:
            raise click.ClickException(f"no incident {incident_id}")
        if incident.state is IncidentState.RESOLVED:
            raise click.ClickException(f"incident {incident_id} is resolved: nothing to acknowledge")
        if incident.state is IncidentState.ACKNOWLEDGED:
            click.echo(f"{incident_id} was already acknowledged by {incident.acknowledged_by}")
            return
        command = IncidentCommand(
            command="acknowledge", incident_id=incident_id, brand=incident.brand, by=by, at=utc_now()
        )
        send_command(settings.kafka, command)
        deadline = time.monotonic() + timeout
        while True:
            incident = read_incident(client, names, incident_id)
            if incident is not None and acknowledged(incident, command):
                click.echo(f"{incident_id} acknowledged by {by} (version {incident.version})")
                return
            if time.monotonic() >= deadline:
                raise click.ClickException(
                    f"sent the acknowledgement, but {incident_id} did not show it within {timeout:g}s "
                    "(is the worker running?)"
                )
            time.sleep(0.25)


def acknowledged(incident: Incident, command: IncidentCommand) -> bool:
    at = incident.acknowledged_at
    return at is not None and at >= command.at


def send_command(kafka: KafkaSettings, command: IncidentCommand, timeout_s: float = 15) -> None:
    """Publish ``command`` keyed by its brand and wait for the broker's acknowledgement."""
    topic = Topics(kafka.topic_prefix).incident_commands
    try:
        producer = KafkaProducer(**kafka_python_config(kafka), acks="all")
    except KafkaError as exc:
        raise click.ClickException(f"cannot reach the broker at {kafka.bootstrap_servers}: {exc}") from exc
    try:
        producer.send(topic, key=command.brand.encode(), value=encode(command)).get(timeout=timeout_s)
    except KafkaError as exc:
        raise click.ClickException(f"sending the acknowledgement failed: {exc}") from exc
    finally:
        producer.close(timeout=timeout_s)


COLUMNS = ("id", "brand", "category", "severity", "state", "started", "updated", "peak/expected", "top terms")


def table(found: Sequence[Incident]) -> list[str]:
    """A header and one line per incident, times in UTC."""
    rows = [COLUMNS] + [
        (
            i.incident_id,
            i.brand,
            i.category or "all",
            i.severity,
            i.state.value,
            f"{i.started_at:%Y-%m-%d %H:%M}",
            f"{i.updated_at:%Y-%m-%d %H:%M}",
            f"{i.peak:g}/{i.peak_expected:.1f}",
            ", ".join(i.top_terms[:4]) or "-",
        )
        for i in found
    ]
    widths = [max(len(row[c]) for row in rows) for c in range(len(COLUMNS) - 1)]
    return ["  ".join([*(v.ljust(w) for v, w in zip(row, widths, strict=False)), row[-1]]) for row in rows]


def describe(i: Incident) -> str:
    what = "complaints" if i.measure == "complaints" else "negative mentions"
    lines = [
        f"{i.incident_id}  version {i.version}  {i.state.value}  {i.severity}",
        f"  brand {i.brand}, {i.category or 'all categories'} ({what})",
        f"  started {i.started_at:%Y-%m-%d %H:%M} UTC, updated {i.updated_at:%Y-%m-%d %H:%M} UTC"
        + (f", resolved {i.resolved_at:%Y-%m-%d %H:%M} UTC" if i.resolved_at else ""),
        f"  latest {i.observed:g} in {i.bucket_seconds // 60} min against {i.expected:.1f} expected; "
        f"peak {i.peak:g} against {i.peak_expected:.1f} at {i.peak_at:%H:%M}; {i.total} in all",
    ]
    if i.acknowledged_at:
        lines.append(f"  acknowledged by {i.acknowledged_by} at {i.acknowledged_at:%Y-%m-%d %H:%M} UTC")
    if i.inhibited_by:
        lines.append(f"  inside {i.inhibited_by} (not paged)")
    if i.silenced_until:
        lines.append(f"  silenced until {i.silenced_until:%Y-%m-%d %H:%M} UTC (not paged)")
    lines.append(f"  categories: {_counts(i.categories)}; languages: {_counts(i.languages)}")
    lines.append(f"  top terms: {', '.join(i.top_terms) or '-'}")
    for r in i.representatives:
        reach = f", {r.followers:,} followers" if r.followers else ""
        text = " ".join(r.text.split())
        lines.append(f"  [{r.why}{reach}] {r.author or r.mention_id}: {text}")
    if i.search_command:
        lines.append(f"  mentions: {i.search_command}")
    if i.kibana_url:
        lines.append(f"  kibana: {i.kibana_url}")
    lines.append("  history:")
    lines += [
        f"    v{h.version} {h.at:%Y-%m-%d %H:%M} {h.state.value} {h.severity}"
        + (f": {h.note}" if h.note else "")
        for h in i.history
    ]
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) or "-"

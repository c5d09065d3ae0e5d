"""What the demo shows of incidents and their deliveries: read back from the search server,
announced on the terminal, summed up at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from streams.config.settings import Settings
from streams.contracts.incidents import Delivery, Incident


@dataclass(frozen=True, slots=True)
class Outcome:
    incidents: tuple[Incident, ...] = ()
    deliveries: tuple[Delivery, ...] = ()


def read_outcome(settings: Settings) -> Outcome:
    """The incidents and the delivery records so far; blocks for one round trip to the search
    server; raises what the client raises."""
    return asyncio.run(_read(settings))


async def _read(settings: Settings) -> Outcome:
    from streams.notify.store import list_deliveries
    from streams.search.client import async_client, layout
    from streams.search.incidents import list_incidents

    names = layout(settings.elasticsearch)
    client = async_client(settings.elasticsearch)
    try:
        incidents = await list_incidents(client, names)
        deliveries = await list_deliveries(client, names.deliveries)
    finally:
        await client.close()
    return Outcome(tuple(incidents), tuple(deliveries))


def announce(incident: Incident) -> str:
    problem = incident.category or "all complaints"
    terms = ", ".join(incident.top_terms[:6]) or "-"
    lines = [
        f"\n*** INCIDENT {incident.incident_id} v{incident.version} {incident.state.value.upper()} "
        f"({incident.severity}): {incident.brand}, {problem}",
        f"    {incident.observed:g} {incident.measure} in {incident.bucket_seconds // 60} min "
        f"at {incident.updated_at:%a %d %b %H:%M} UTC, expected {incident.expected:.1f}; "
        f"peak {incident.peak:g}",
        f"    top terms: {terms}",
    ]
    if incident.search_command:
        lines.append(f"    see them: {incident.search_command}")
    return "\n".join(lines)


def incident_rows(incidents: Sequence[Incident]) -> list[str]:
    return [
        f"    {i.incident_id}  {i.brand}  {i.category or 'all'}  {i.severity}  {i.state.value}  "
        f"started {i.started_at:%Y-%m-%d %H:%M} UTC  v{i.version}"
        for i in incidents
    ]


def delivery_rows(deliveries: Sequence[Delivery]) -> list[str]:
    return [
        f"    {d.notifier} ({d.notifier_type})  {d.event_id}  {d.status}  attempts {d.attempts}"
        + (f"  last error: {d.last_error}" if d.last_error else "")
        for d in deliveries
    ]

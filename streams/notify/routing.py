"""Which notifiers an incident event goes to."""

from __future__ import annotations

from collections.abc import Sequence

from streams.config.notifiers import RouteSettings
from streams.contracts.incidents import SEVERITIES, Incident
from streams.contracts.sla import Alert, SlaEvent


def highest_severity(incident: Incident) -> int:
    """Index in SEVERITIES of the highest severity the incident has had (its history included)."""
    return max(SEVERITIES.index(s) for s in (incident.severity, *(c.severity for c in incident.history)))


def routed(event: Alert, notifiers: Sequence[str], routes: Sequence[RouteSettings]) -> list[str]:
    """The names, in ``notifiers`` order, of those that receive ``event``: with no routes, all of
    them; else those named by a route whose ``brands`` (None: any) include the incident's brand and
    whose ``min_severity`` the incident has reached (at any version, so the acknowledge and resolve
    of a page follow it to the same notifiers, even if a reopened incident comes back lower). An
    SLA alert's severity: ``watch`` for a warning, ``warning`` for a breach. Pure."""
    if not routes:
        return list(notifiers)
    if isinstance(event, SlaEvent):
        brand, level = event.brand, SEVERITIES.index(event.severity)
    else:
        brand, level = event.incident.brand, highest_severity(event.incident)
    chosen = {
        name
        for route in routes
        if (route.brands is None or brand in route.brands) and level >= SEVERITIES.index(route.min_severity)
        for name in route.notifiers
    }
    return [n for n in notifiers if n in chosen]

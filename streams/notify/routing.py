"""Which notifiers an incident event goes to."""

from __future__ import annotations

from collections.abc import Sequence

from streams.config.notifiers import RouteSettings
from streams.contracts.incidents import SEVERITIES, Incident, IncidentEvent


def highest_severity(incident: Incident) -> int:
    """Index in SEVERITIES of the highest severity the incident has had (its history included)."""
    return max(SEVERITIES.index(s) for s in (incident.severity, *(c.severity for c in incident.history)))


def routed(event: IncidentEvent, notifiers: Sequence[str], routes: Sequence[RouteSettings]) -> list[str]:
    """The names, in ``notifiers`` order, of those that receive ``event``: with no routes, all of
    them; else those named by a route whose ``brands`` (None: any) include the incident's brand and
    whose ``min_severity`` the incident has reached (at any version, so the acknowledge and resolve
    of a page follow it to the same notifiers, even if a reopened incident comes back lower). Pure."""
    if not routes:
        return list(notifiers)
    incident = event.incident
    level = highest_severity(incident)
    chosen = {
        name
        for route in routes
        if (route.brands is None or incident.brand in route.brands)
        and level >= SEVERITIES.index(route.min_severity)
        for name in route.notifiers
    }
    return [n for n in notifiers if n in chosen]

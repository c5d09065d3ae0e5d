"""Where a person finds an incident's mentions: the ``flarewatch search`` command line and a Kibana
Discover link, both over the incident's brand, problem and time range."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from models.incidents import IncidentView

DEFAULT_KIBANA_URL = "http://localhost:5601"


@dataclass(frozen=True, slots=True)
class Links:
    kibana_url: str = DEFAULT_KIBANA_URL
    """Kibana's base URL."""
    data_view: str = "flarewatch-mentions"
    """The id of the Kibana data view over the mentions alias."""

    def search_command(self, incident: IncidentView) -> str:
        since, until = window(incident)
        words = ["flarewatch", "search", "--brand", incident.brand]
        words += ["--complaints"] if incident.measure == "complaints" else ["--sentiment", "negative"]
        if incident.category:
            words += ["--category", incident.category]
        words += ["--since", _minute(since), "--until", _minute(until)]
        return shlex.join(words)

    def discover_url(self, incident: IncidentView) -> str:
        since, until = window(incident)
        g = f"(time:(from:{_rison(_minute(since))},to:{_rison(_minute(until))}))"
        a = f"(index:{_rison(self.data_view)},query:(language:kuery,query:{_rison(kql(incident))}))"
        safe = "(),:!'"
        return f"{self.kibana_url.rstrip('/')}/app/discover#/?_g={quote(g, safe)}&_a={quote(a, safe)}"


def window(incident: IncidentView) -> tuple[datetime, datetime]:
    """From the incident's first bucket to the end of its latest one."""
    last = max(incident.updated_at, incident.peak_at)
    return incident.started_at, last + timedelta(seconds=incident.bucket_seconds)


def kql(incident: IncidentView) -> str:
    """The incident's mentions as a Kibana query: the brand's customers' complaints (or negative
    mentions), in the incident's category when it has one."""
    parts = [f"flarewatch.brand:{_kql_string(incident.brand)}", "flarewatch.from_brand:false"]
    if incident.measure == "complaints":
        parts.append("flarewatch.complaint:true")
    else:
        parts.append("flarewatch.sentiment:negative")
    if incident.category:
        parts.append(f"flarewatch.category:{_kql_string(incident.category)}")
    return " and ".join(parts)


def _minute(at: datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M}Z"


def _kql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rison(value: str) -> str:
    """A string in Rison, the notation of Kibana's URL state."""
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"

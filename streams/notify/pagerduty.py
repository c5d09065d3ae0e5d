"""PagerDuty Events API v2: ``POST {url}/v2/enqueue`` (``url`` defaults to
``https://events.pagerduty.com``; tests point it at a local receiver).

One PagerDuty alert per incident: ``dedup_key`` = the incident id. ``incident.triggered`` and
``incident.updated`` send ``trigger`` (an update re-triggers the same alert with the new severity
and counts), ``incident.acknowledged`` sends ``acknowledge``, ``incident.resolved`` sends
``resolve``. Severities: critical -> ``critical``, warning -> ``error``, watch -> ``warning``;
acknowledge and resolve carry severity ``info`` (PagerDuty takes the payload of a trigger only; the
others' payload just records the final counts). ``custom_details`` holds the counts; the Kibana link
goes in ``links``. PagerDuty answers 202 when it queued the event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from streams.config.notifiers import PAGERDUTY_URL
from streams.contracts.incidents import IncidentEvent
from streams.contracts.sla import Alert, SlaEvent
from streams.notify import sla_render
from streams.notify.httpclient import post
from streams.notify.notifier import SendResult
from streams.notify.render import details, summary

PdSeverity = Literal["critical", "error", "warning", "info"]
SEVERITY: dict[str, PdSeverity] = {"critical": "critical", "warning": "error", "watch": "warning"}
ACTION = {
    "incident.triggered": "trigger",
    "incident.updated": "trigger",
    "incident.acknowledged": "acknowledge",
    "incident.resolved": "resolve",
}


def severity(event: IncidentEvent) -> PdSeverity:
    return SEVERITY[event.incident.severity] if ACTION[event.type] == "trigger" else "info"


def body(event: IncidentEvent, routing_key: str, source: str = "flarewatch") -> dict[str, Any]:
    i = event.incident
    out: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": ACTION[event.type],
        "dedup_key": i.incident_id,
        "client": "Flarewatch",
        "payload": {
            "summary": summary(event)[:1024],
            "source": source,
            "severity": severity(event),
            "timestamp": i.updated_at.isoformat(),
            "component": i.category or "all",
            "group": i.brand,
            "class": i.measure,
            "custom_details": details(i),
        },
    }
    if i.kibana_url:
        out["links"] = [{"href": i.kibana_url, "text": "Mentions in Kibana"}]
    return out


def sla_body(event: SlaEvent, routing_key: str, source: str = "flarewatch") -> dict[str, Any]:
    """A breach and its warning fold into one PagerDuty alert per thread and target."""
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": f"sla:{event.thread_key}:{event.target}",
        "client": "Flarewatch",
        "payload": {
            "summary": sla_render.summary(event)[:1024],
            "source": source,
            "severity": "error" if event.type == "sla.breach" else "warning",
            "timestamp": event.emitted_at.isoformat(),
            "component": event.target,
            "group": event.brand,
            "class": "sla",
            "custom_details": sla_render.details(event),
        },
    }


@dataclass(frozen=True, slots=True)
class PagerDutyNotifier:
    name: str
    routing_key: str
    url: str = PAGERDUTY_URL
    source: str = "flarewatch"
    timeout_s: float = 10.0
    type: str = "pagerduty"

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/v2/enqueue"

    async def send(self, event: Alert) -> SendResult:
        if isinstance(event, SlaEvent):
            data = json.dumps(sla_body(event, self.routing_key, self.source)).encode()
        else:
            data = json.dumps(body(event, self.routing_key, self.source)).encode()
        return await post(self.endpoint, data, {"content-type": "application/json"}, self.timeout_s)

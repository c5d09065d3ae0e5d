"""A generic webhook following the Standard Webhooks specification (standardwebhooks.com).

Headers: ``webhook-id`` (the event id, the same on every retry: receivers dedupe by it),
``webhook-timestamp`` (seconds, when this attempt was signed) and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body`` with the ``whsec_`` secret). Body::

    {"type": "incident.triggered", "timestamp": "2024-05-01T12:05:00Z",
     "data": {"id": "<incident_id>", "incident_id": ..., "brand": ..., "category": ..., ...}}

``data`` is the whole incident (:class:`streams.contracts.incidents.Incident` as JSON) with ``id``
added. A receiver verifies with ``standardwebhooks.Webhook(secret).verify(body, headers)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks import Webhook

from streams.contracts.sla import Alert, SlaEvent
from streams.notify import sla_render
from streams.notify.httpclient import post
from streams.notify.notifier import SendResult
from streams.notify.render import incident_data


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def signer(secret: str) -> Webhook:
    """Raises ValueError unless ``secret`` is ``whsec_`` followed by non-empty base64."""
    if not secret.startswith("whsec_"):
        raise ValueError("a webhook secret has the form whsec_<base64>")
    try:
        return Webhook(secret)
    except Exception as exc:  # binascii.Error, EmptyWebhookSecretError
        raise ValueError(f"the webhook secret is not whsec_<base64>: {type(exc).__name__}") from None


def body(event: Alert) -> str:
    """SLA alerts carry the thread: ``{"type": "sla.breach", "data": {"id": <alert id>, "thread_key":
    ..., "target": ..., "due_at": ...}}``."""
    data = (
        {"id": event.event_id, **sla_render.details(event)}
        if isinstance(event, SlaEvent)
        else incident_data(event.incident)
    )
    payload = {"type": event.type, "timestamp": _iso(event.emitted_at), "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def signed_headers(hook: Webhook, event_id: str, text: str, now: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": hook.sign(event_id, now, text),
    }


@dataclass(frozen=True, slots=True)
class WebhookNotifier:
    name: str
    url: str
    secret: str
    timeout_s: float = 10.0
    type: str = "webhook"

    def __post_init__(self) -> None:
        signer(self.secret)

    async def send(self, event: Alert) -> SendResult:
        text = body(event)
        headers = signed_headers(signer(self.secret), event.event_id, text, datetime.now(UTC))
        return await post(self.url, text.encode(), headers, self.timeout_s)

"""The Standard Webhooks notifier against a local receiver that verifies with ``standardwebhooks``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from streams.contracts.incidents import IncidentState
from streams.notify.notifier import Rejected, Retryable
from streams.notify.webhook import WebhookNotifier
from tests.notify_servers import WEBHOOK_SECRET, WebhookReceiver, incident_event


def test_a_receiver_verifies_the_signature_with_standardwebhooks() -> None:
    event = incident_event(IncidentState.UPDATED, version=2, severity="warning")

    async def scenario() -> None:
        async with WebhookReceiver() as hook:
            result = await WebhookNotifier("hook", hook.url, WEBHOOK_SECRET).send(event)
            assert result.status == 200
            (request,) = hook.received
            payload = Webhook(WEBHOOK_SECRET).verify(request.body, request.headers)
            assert request.headers["webhook-id"] == event.event_id
            assert payload["type"] == "incident.updated"
            assert payload["timestamp"].endswith("Z")
            data = payload["data"]
            assert data["id"] == data["incident_id"] == "acme:payments:20240501T1200Z"
            for key in ("brand", "category", "severity", "state", "started_at", "version", "observed"):
                assert key in data
            assert (data["severity"], data["state"], data["version"]) == ("warning", "updated", 2)
            with pytest.raises(WebhookVerificationError):
                Webhook("whsec_" + base64.b64encode(b"another secret!!").decode()).verify(
                    request.body, request.headers
                )

    asyncio.run(scenario())


def test_the_signature_is_hmac_sha256_over_id_timestamp_body() -> None:
    async def scenario() -> None:
        async with WebhookReceiver() as hook:
            await WebhookNotifier("hook", hook.url, WEBHOOK_SECRET).send(incident_event())
            (request,) = hook.received
            h = request.headers
            signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + request.body
            key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
            expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            assert h["webhook-signature"] == f"v1,{expected}"
            assert h["content-type"] == "application/json"

    asyncio.run(scenario())


def test_status_codes_map_to_retryable_and_rejected() -> None:
    async def scenario() -> None:
        async with WebhookReceiver([503, 408, 410]) as hook:
            notifier = WebhookNotifier("hook", hook.url, WEBHOOK_SECRET)
            for expected in (Retryable, Retryable, Rejected):
                with pytest.raises(expected) as caught:
                    await notifier.send(incident_event())
                assert "HTTP" in str(caught.value)
        with pytest.raises(Retryable):  # nobody listens any more
            await notifier.send(incident_event())

    asyncio.run(scenario())


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!!"])
def test_a_malformed_secret_is_refused_at_construction(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        WebhookNotifier("hook", "http://127.0.0.1:1/x", secret)

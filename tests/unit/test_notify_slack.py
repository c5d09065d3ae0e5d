"""The Slack notifier against a local Slack-like receiver."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.contracts.incidents import IncidentState
from streams.notify.notifier import Rejected, Retryable
from streams.notify.slack import SlackNotifier
from tests.notify_servers import Reply, SlackReceiver, incident_event


def sent(event_state: IncidentState = IncidentState.TRIGGERED) -> dict[str, Any]:
    async def scenario() -> dict[str, Any]:
        async with SlackReceiver() as slack:
            result = await SlackNotifier("slack", slack.url).send(incident_event(event_state))
            assert result.status == 200
            (request,) = slack.received
            assert request.path == "/services/T000/B000/XXXXXXXX"
            body: dict[str, Any] = request.json()
            return body

    return asyncio.run(scenario())


def test_the_message_is_readable_block_kit() -> None:
    body = sent()
    assert body["text"].startswith(
        "[CRITICAL] acme: payments — triggered: 42 in 5 min vs 4.0 expected (10.5x)"
    )
    header, counts, *rest = body["blocks"]
    assert header["type"] == "header"
    assert header["text"]["text"] == "acme: payments — CRITICAL (triggered)"
    assert "42 in 5 min vs 4.0 expected (10.5x); peak 57 vs 4.5 at 12:05Z" in counts["text"]["text"]
    texts = "\n".join(b["text"]["text"] for b in rest if b["type"] == "section")
    assert ">BLIK nie działa &lt;znowu&gt; &amp; nie mogę zapłacić" in texts
    assert ">Checkout fails with BLIK every time" in texts
    assert "third one" not in texts  # two samples
    assert "```flarewatch search --brand acme --category payments" in texts
    assert "<http://127.0.0.1:5601/app/discover#/?q=acme|Open the mentions in Kibana>" in texts
    assert "blik, nie działa, płatność" in texts
    assert body["blocks"][-1]["type"] == "context"


def test_a_resolved_incident_says_so() -> None:
    body = sent(IncidentState.RESOLVED)
    assert body["blocks"][0]["text"]["text"].endswith("(resolved)")
    assert ":white_check_mark:" in body["blocks"][1]["text"]["text"]


def test_slack_errors_map_to_rejected_and_retryable() -> None:
    async def scenario() -> None:
        async with SlackReceiver(
            [Reply(404, "no_service"), Reply(429, "rate_limited", {"Retry-After": "2"}), 500]
        ) as slack:
            notifier = SlackNotifier("slack", slack.url)
            with pytest.raises(Rejected, match="no_service") as rejected:
                await notifier.send(incident_event())
            assert rejected.value.status == 404
            with pytest.raises(Retryable) as limited:
                await notifier.send(incident_event())
            assert limited.value.retry_after == 2.0
            with pytest.raises(Retryable):
                await notifier.send(incident_event())
            assert len(slack.received) == 3  # the client's own retries are off

    asyncio.run(scenario())

"""The PagerDuty Events API v2 notifier against a local PagerDuty-like receiver."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.contracts.incidents import IncidentState, Severity
from streams.notify.notifier import Rejected, Retryable
from streams.notify.pagerduty import PagerDutyNotifier
from tests.notify_servers import PagerDutyReceiver, Reply, incident_event


def test_an_incident_lifecycle_is_one_alert_triggered_acknowledged_resolved() -> None:
    events = [
        incident_event(IncidentState.TRIGGERED, 1, "warning"),
        incident_event(IncidentState.UPDATED, 2, "critical"),
        incident_event(IncidentState.ACKNOWLEDGED, 3, "critical"),
        incident_event(IncidentState.RESOLVED, 4, "critical"),
    ]

    async def scenario() -> list[dict[str, Any]]:
        async with PagerDutyReceiver() as pd:
            notifier = PagerDutyNotifier("pd", "R0UT1NGKEY", url=pd.url)
            for event in events:
                assert (await notifier.send(event)).status == 202
            assert {r.path for r in pd.received} == {"/v2/enqueue"}
            return [r.json() for r in pd.received]

    bodies = asyncio.run(scenario())
    assert [b["event_action"] for b in bodies] == ["trigger", "trigger", "acknowledge", "resolve"]
    assert {b["dedup_key"] for b in bodies} == {"acme:payments:20240501T1200Z"}
    assert {b["routing_key"] for b in bodies} == {"R0UT1NGKEY"}
    assert [b["payload"]["severity"] for b in bodies] == ["error", "critical", "info", "info"]
    first = bodies[0]["payload"]
    assert first["summary"].startswith("[WARNING] acme: payments — triggered")
    assert (first["source"], first["group"], first["component"], first["class"]) == (
        "flarewatch",
        "acme",
        "payments",
        "complaints",
    )
    details = first["custom_details"]
    assert (details["observed"], details["expected"], details["peak"], details["total"]) == (
        42.0,
        4.0,
        57.0,
        180,
    )
    assert details["search_command"].startswith("flarewatch search")
    assert bodies[0]["links"][0]["href"].startswith("http://127.0.0.1:5601/")


@pytest.mark.parametrize(
    ("ours", "theirs"), [("watch", "warning"), ("warning", "error"), ("critical", "critical")]
)
def test_severities_map_to_pagerduty_levels(ours: Severity, theirs: str) -> None:
    async def scenario() -> str:
        async with PagerDutyReceiver() as pd:
            await PagerDutyNotifier("pd", "key", url=pd.url + "/").send(incident_event(severity=ours))
            severity: str = pd.received[0].json()["payload"]["severity"]
            return severity

    assert asyncio.run(scenario()) == theirs


def test_an_invalid_event_is_rejected_and_throttling_retried() -> None:
    async def scenario() -> None:
        async with PagerDutyReceiver(
            [Reply(400, '{"status":"invalid event","errors":["routing_key invalid"]}'), 429]
        ) as pd:
            notifier = PagerDutyNotifier("pd", "bad", url=pd.url)
            with pytest.raises(Rejected, match="routing_key invalid"):
                await notifier.send(incident_event())
            with pytest.raises(Retryable):
                await notifier.send(incident_event())

    asyncio.run(scenario())

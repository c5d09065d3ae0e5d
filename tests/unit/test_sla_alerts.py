"""SLA alerts go through the incident notifiers: routed by brand and severity, decoded beside
incident events, and rendered by every notifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from streams.config.notifiers import RouteSettings
from streams.contracts.codec import Invalid, encode
from streams.contracts.sla import SlaEvent, decode_alert, subject
from streams.notify import email, pagerduty, slack, webhook
from streams.notify.routing import routed

T0 = datetime(2026, 11, 13, 15, 30, tzinfo=UTC)


def alert(kind: str = "sla.breach", brand: str = "zakupowo") -> SlaEvent:
    return SlaEvent(
        event_id=f"{brand}:facebook:post1:public_answer:{kind[4:]}:{T0.isoformat()}",
        type=kind,  # type: ignore[arg-type]
        brand=brand,
        thread_key=f"{brand}:facebook:post1",
        platform="facebook",
        channel="public",
        status="awaiting_brand",
        target="public_answer",
        target_seconds=7200,
        started_at=T0,
        due_at=T0 + timedelta(days=3),
        opening="<b>Gdzie</b> jest paczka?",
        emitted_at=T0 + timedelta(days=20),
    )


def test_routes_take_the_brand_and_a_severity_for_each_kind() -> None:
    notifiers = ["oncall", "team"]
    routes = [
        RouteSettings(notifiers=("oncall",), min_severity="warning"),
        RouteSettings(notifiers=("team",), brands=("kosarka",)),
    ]
    assert routed(alert("sla.breach"), notifiers, routes) == ["oncall"]
    assert routed(alert("sla.warning"), notifiers, routes) == []
    assert routed(alert("sla.warning", brand="kosarka"), notifiers, routes) == ["team"]
    assert routed(alert("sla.warning"), notifiers, []) == notifiers


def test_alerts_decode_beside_incident_events_and_name_their_thread() -> None:
    event = alert()
    assert decode_alert(encode(event)) == event
    assert subject(event) == ("zakupowo:facebook:post1", 0)
    bad = decode_alert(json.dumps({"type": "sla.breach", "brand": "x"}).encode())
    assert isinstance(bad, Invalid) and "event_id" in bad.reason
    assert isinstance(decode_alert(b"{not json"), Invalid)


def test_every_notifier_renders_an_alert() -> None:
    event = alert()
    body = json.loads(webhook.body(event))
    assert body["type"] == "sla.breach" and body["data"]["id"] == event.event_id
    assert body["data"]["target"] == "public_answer" and body["data"]["thread_key"] == event.thread_key
    pd = pagerduty.sla_body(event, "key")
    assert pd["dedup_key"] == "sla:zakupowo:facebook:post1:public_answer"
    assert pd["payload"]["severity"] == "error" and pd["event_action"] == "trigger"
    assert pagerduty.sla_body(alert("sla.warning"), "key")["payload"]["severity"] == "warning"
    mail = email.message(event, "flarewatch@example.com", ("oncall@example.com",))
    assert mail["Subject"].startswith("[SLA breach] zakupowo public_answer (2 h)")
    blocks = slack.sla_blocks(event)
    assert "&lt;b&gt;Gdzie&lt;/b&gt;" in json.dumps(blocks)  # the customer's text is escaped

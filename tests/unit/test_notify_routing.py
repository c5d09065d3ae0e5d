"""Routing rules, delivery stores, and the receivers' threaded mode."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from streams.config.notifiers import RouteSettings
from streams.contracts.incidents import Delivery, IncidentChange, IncidentState
from streams.notify.deliver import Deliverer, RetryPolicy
from streams.notify.routing import routed
from streams.notify.store import DELIVERY_PROPERTIES, SearchDeliveryStore, list_deliveries
from streams.notify.webhook import WebhookNotifier
from tests.notify_servers import WEBHOOK_SECRET, WebhookReceiver, incident_event

NAMES = ["hook", "slack", "pd"]
ROUTES = [
    RouteSettings(notifiers=("pd",), min_severity="critical"),
    RouteSettings(notifiers=("slack", "hook"), brands=("acme",)),
    RouteSettings(notifiers=("slack",), brands=("other",), min_severity="warning"),
]


def test_without_routes_every_notifier_gets_every_incident() -> None:
    assert routed(incident_event(severity="watch", brand="zeta"), NAMES, []) == NAMES


@pytest.mark.parametrize(
    ("brand", "severity", "expected"),
    [
        ("acme", "watch", ["hook", "slack"]),
        ("acme", "critical", ["hook", "slack", "pd"]),
        ("other", "watch", []),
        ("other", "warning", ["slack"]),
        ("zeta", "critical", ["pd"]),
    ],
)
def test_routes_match_brand_and_minimum_severity(brand: str, severity: str, expected: list[str]) -> None:
    assert routed(incident_event(brand=brand, severity=severity), NAMES, ROUTES) == expected  # type: ignore[arg-type]


def test_a_page_s_resolve_follows_it_even_at_a_lower_severity() -> None:
    event = incident_event(IncidentState.RESOLVED, 3, severity="watch", brand="zeta")
    history = (
        *event.incident.history[:-1],
        IncidentChange(
            version=3, state=IncidentState.RESOLVED, severity="critical", at=event.incident.updated_at
        ),
    )
    lowered = event.model_copy(update={"incident": event.incident.model_copy(update={"history": history})})
    assert routed(lowered, NAMES, ROUTES) == ["pd"]


@dataclass
class Response:
    body: dict[str, Any]


@dataclass
class FakeElasticsearch:
    """The part of AsyncElasticsearch the delivery store uses, answering as the server does."""

    docs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def options(self, **kwargs: Any) -> FakeElasticsearch:
        assert kwargs == {"ignore_status": 404}
        return self

    async def get(self, *, index: str, id: str) -> Response:
        if index not in self.docs:
            return Response({"error": {"type": "index_not_found_exception"}, "status": 404})
        source = self.docs[index].get(id)
        return Response({"_id": id, "found": source is not None} | ({"_source": source} if source else {}))

    async def index(self, **kwargs: Any) -> Response:
        self.calls.append(kwargs)
        self.docs.setdefault(kwargs["index"], {})[kwargs["id"]] = json.loads(json.dumps(kwargs["document"]))
        return Response({"result": "created"})

    async def search(self, *, index: str, query: dict[str, Any], size: int, sort: Any) -> Response:
        if index not in self.docs:
            return Response({"error": {"type": "index_not_found_exception"}, "status": 404})
        wanted = query.get("term", {}).get("incident_id")
        hits = [d for d in self.docs[index].values() if wanted in (None, d["incident_id"])]
        hits.sort(key=lambda d: (d["finished_at"], d["delivery_id"]))
        return Response({"hits": {"hits": [{"_source": d} for d in hits[:size]]}})


def test_the_search_store_keys_records_by_delivery_id_and_lists_them() -> None:
    es = FakeElasticsearch()
    store = SearchDeliveryStore(es, "fw-deliveries")  # type: ignore[arg-type]
    policy = RetryPolicy(initial_s=0.01, max_s=0.01)

    async def scenario() -> list[Delivery]:
        assert await store.get("nothing:yet") is None  # no index yet
        assert await list_deliveries(es, "fw-deliveries") == []  # type: ignore[arg-type]
        async with WebhookReceiver() as hook:
            deliverer = Deliverer(WebhookNotifier("hook", hook.url, WEBHOOK_SECRET), store, policy)
            for event in (incident_event(), incident_event(IncidentState.RESOLVED, 2), incident_event()):
                await deliverer.deliver(event)
            assert len(hook.received) == 2
        assert await store.get("nothing:yet") is None
        return await list_deliveries(es, "fw-deliveries", incident_id="acme:payments:20240501T1200Z")  # type: ignore[arg-type]

    records = asyncio.run(scenario())
    assert [r.delivery_id for r in records] == [
        "acme:payments:20240501T1200Z:v1:hook",
        "acme:payments:20240501T1200Z:v2:hook",
    ]
    assert [c["refresh"] for c in es.calls] == ["wait_for", "wait_for"]
    assert [c["id"] for c in es.calls] == [r.delivery_id for r in records]
    assert set(DELIVERY_PROPERTIES) == set(Delivery.model_fields)


def test_the_threaded_receiver_serves_sync_callers() -> None:
    with WebhookReceiver([503]) as hook:
        notifier = WebhookNotifier("hook", hook.url, WEBHOOK_SECRET)
        deliverer = Deliverer(
            notifier,
            SearchDeliveryStore(FakeElasticsearch(), "d"),  # type: ignore[arg-type]
            RetryPolicy(initial_s=0.01, max_s=0.01),
        )
        record = asyncio.run(deliverer.deliver(incident_event()))
        received = hook.wait_for(2, timeout_s=5)
        assert hook.url.startswith("http://127.0.0.1:") and hook.url.endswith("/hooks/flarewatch")
    assert record is not None and record.status == "delivered" and record.attempts == 2
    assert [r.headers["webhook-id"] for r in received] == [incident_event().event_id] * 2
    with pytest.raises(TimeoutError, match="2 of 3 received"):
        hook.wait_for(3, timeout_s=0.01)

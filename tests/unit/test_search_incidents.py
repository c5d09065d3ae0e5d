"""Incidents in the search layer: documents, mappings, links, reading back, the enricher."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from models.incidents import HistoryEntry, IncidentView
from streams.contracts.incidents import Incident, Representative
from streams.notify.store import DELIVERY_PROPERTIES
from streams.search.documents import incident_document, incident_from_document
from streams.search.incidents import Enricher, get_incident, incidents_query, list_incidents
from streams.search.layout import INCIDENT_PROPERTIES, Layout
from streams.search.links import Links, kql
from streams.worker.steps.incident_records import incident_of
from tests.factories import T0
from tests.unit.test_files_and_documents import mapped

VIEW = IncidentView(
    incident_id="zakupowo:payment:20261119T1200Z",
    version=2,
    brand="zakupowo",
    category="payment",
    measure="complaints",
    state="updated",
    severity="critical",
    started_at=T0,
    updated_at=T0 + timedelta(minutes=10),
    bucket_seconds=300,
    observed=90,
    expected=4,
    peak=90,
    peak_expected=4,
    peak_at=T0 + timedelta(minutes=10),
    total=130,
    categories={"payment": 120, "delivery": 3},
    languages={"pl": 125, "en": 5},
    history=(
        HistoryEntry(1, "triggered", "warning", T0, "started"),
        HistoryEntry(2, "updated", "critical", T0 + timedelta(minutes=10), "escalated"),
    ),
)


def incident(**changes: Any) -> Incident:
    rep = Representative(mention_id="facebook:c1", text="BLIK", followers=3, created_at=T0)
    base = incident_of(VIEW, ("blik", "nie działa"), (rep,), "flarewatch search ...", "http://kibana")
    return base.model_copy(update=changes)


def paths(value: Any, prefix: str = "") -> set[str]:
    """Field paths of a document, through objects and arrays of objects."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return set().union(*(paths(v, prefix) for v in value))
    if isinstance(value, dict) and value:
        return set().union(*(paths(v, f"{prefix}{k}.") for k, v in value.items()))
    return {prefix.rstrip(".")}


def test_the_incident_document_round_trips_and_uses_only_mapped_fields() -> None:
    doc = json.loads(json.dumps(incident_document(incident())))
    assert doc["@timestamp"] == T0.isoformat() and doc["flarewatch"]["brand"] == "zakupowo"
    assert incident_from_document(doc) == incident()
    opaque = {"flarewatch.incident.categories", "flarewatch.incident.languages", "flarewatch.incident.repr"}
    assert {p for p in paths(doc) if not any(p.startswith(o) for o in opaque)} <= mapped(INCIDENT_PROPERTIES)


def test_the_layout_has_incident_and_delivery_templates_and_no_alerts() -> None:
    layout = Layout("fw")
    templates = layout.templates()
    assert sorted(templates) == ["fw-deliveries", "fw-incidents", "fw-mentions", "fw-threads"]
    assert templates["fw-deliveries"]["template"]["mappings"]["properties"] == DELIVERY_PROPERTIES
    assert layout.single_indices == ("fw-threads", "fw-incidents", "fw-deliveries")


def test_links_name_the_incident_brand_problem_and_time_range() -> None:
    links = Links("https://kibana.example/", "fw-mentions")
    assert links.search_command(VIEW) == (
        "flarewatch search --brand zakupowo --complaints --category payment "
        "--since 2026-11-19T12:00Z --until 2026-11-19T12:15Z"
    )
    negative = replace(VIEW, measure="negative", category=None, brand="o'neil")
    assert "--sentiment negative" in links.search_command(negative)
    assert "'o'\"'\"'neil'" in links.search_command(negative)
    url = unquote(links.discover_url(VIEW))
    assert url.startswith("https://kibana.example/app/discover#/?_g=(time:(from:'2026-11-19T12:00Z',to:")
    assert "index:'fw-mentions'" in url and kql(VIEW) in url
    assert kql(VIEW) == (
        'flarewatch.brand:"zakupowo" and flarewatch.from_brand:false and flarewatch.complaint:true '
        'and flarewatch.category:"payment"'
    )


@dataclass
class Answer:
    body: dict[str, Any]


@dataclass
class FakeClient:
    """The part of AsyncElasticsearch the readers and the enricher use."""

    hits: list[list[dict[str, Any]]] = field(default_factory=list)
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def options(self, **_: Any) -> FakeClient:
        return self

    async def msearch(self, *, searches: list[dict[str, Any]]) -> Answer:
        self.requests.append({"searches": searches})
        return Answer({"responses": [{"hits": {"hits": [{"_source": s} for s in h]}} for h in self.hits]})

    async def search(self, **kwargs: Any) -> Answer:
        self.requests.append(kwargs)
        return Answer({"hits": {"hits": [{"_source": d} for d in self.docs.values()]}})

    async def get(self, *, index: str, id: str) -> Answer:
        doc = self.docs.get(id)
        return Answer({"found": doc is not None, "_source": doc})


def source(n: int, text: str, followers: int = 10, negative: float = 0.5) -> dict[str, Any]:
    return {
        "message": text,
        "@timestamp": (T0 + timedelta(minutes=n)).isoformat(),
        "user": {"id": f"u{n}", "name": f"User {n}"},
        "url": {"full": f"https://fb.example/{n}"},
        "flarewatch": {
            "mention_id": f"facebook:c{n}",
            "author": {"followers": followers},
            "sentiment_scores": {"negative": negative},
        },
    }


def test_the_enricher_finds_significant_terms_and_representatives() -> None:
    fg = [source(i, f"Zakupowo BLIK nie przechodzi, płatność odrzucona {i}") for i in range(10)]
    reach = [source(50, "Kolejny raz BLIK odrzucony przy płatności", followers=90_000)]
    negative = [source(51, "Nigdy więcej! BLIK znowu padł", negative=0.99)]
    bg = [
        source(100 + i, t)
        for i, t in enumerate(["zakupowo paczka dotarła", "dostawa szybka", "super ceny"] * 20)
    ]
    client = FakeClient(hits=[fg, reach, negative, bg])
    found = asyncio.run(Enricher(client, Layout("fw")).enrich(VIEW))  # type: ignore[arg-type]
    assert "blik" in found.top_terms[:3] and "zakupowo" not in found.top_terms
    assert [(r.mention_id, r.why) for r in found.representatives[:2]] == [
        ("facebook:c50", "reach"),
        ("facebook:c51", "negative"),
    ]
    assert found.representatives[0].author == "User 50" and found.representatives[0].followers == 90_000
    searches = client.requests[0]["searches"]
    assert [h["index"] for h in searches[::2]] == ["fw-mentions"] * 4
    filters = searches[1]["query"]["function_score"]["query"]["bool"]["filter"]
    assert {"term": {"flarewatch.category": "payment"}} in filters
    assert {"term": {"flarewatch.complaint": True}} in filters
    bg_range = searches[7]["query"]["function_score"]["query"]["bool"]["filter"][2]["range"]["@timestamp"]
    assert bg_range == {"gte": (T0 - timedelta(days=7)).isoformat(), "lt": T0.isoformat()}


def test_incidents_are_read_back_newest_first() -> None:
    client = FakeClient(docs={incident().incident_id: incident_document(incident())})
    layout = Layout("fw")
    assert asyncio.run(list_incidents(client, layout, "zakupowo", open_only=True)) == [incident()]  # type: ignore[arg-type]
    request = client.requests[0]
    assert request["index"] == "fw-incidents" and request["sort"][0] == {"@timestamp": "desc"}
    assert request["query"] == incidents_query("zakupowo", True)
    assert asyncio.run(get_incident(client, layout, incident().incident_id)) == incident()  # type: ignore[arg-type]
    assert asyncio.run(get_incident(client, layout, "nope")) is None  # type: ignore[arg-type]

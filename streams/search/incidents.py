"""Incidents in Elasticsearch: reading them back (``flarewatch incidents``, the demo), and the
:class:`Enricher` that describes a flare-up from its mentions (significant terms against the
brand's recent background, representative mentions)."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch

from models.incidents import IncidentView
from models.incidents.representatives import Candidate, pick
from models.incidents.terms import significant_terms
from streams.contracts.incidents import Incident, Representative
from streams.search.documents import incident_from_document
from streams.search.layout import Layout
from streams.search.links import window

MAX_TEXT_CHARS = 500
"""A representative mention's text is cut to this many characters."""


def incidents_query(brand: str | None = None, open_only: bool = False) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [{"term": {"flarewatch.brand": brand}}] if brand else []
    must_not = [{"term": {"flarewatch.incident.state": "resolved"}}] if open_only else []
    return {"bool": {"filter": filters, "must_not": must_not}}


NEWEST_FIRST = [{"@timestamp": "desc"}, {"flarewatch.incident.incident_id": "asc"}]


async def list_incidents(
    client: AsyncElasticsearch,
    layout: Layout,
    brand: str | None = None,
    open_only: bool = False,
    size: int = 100,
) -> list[Incident]:
    """Incidents, the newest start first (at most ``size``); [] when there is no index yet."""
    response = await client.options(ignore_status=404).search(
        index=layout.incidents, query=incidents_query(brand, open_only), size=size, sort=NEWEST_FIRST
    )
    return _incidents(response.body)


async def get_incident(client: AsyncElasticsearch, layout: Layout, incident_id: str) -> Incident | None:
    response = await client.options(ignore_status=404).get(index=layout.incidents, id=incident_id)
    return _incident(response.body)


def read_incidents(
    client: Elasticsearch, layout: Layout, brand: str | None = None, open_only: bool = False, size: int = 100
) -> list[Incident]:
    """:func:`list_incidents` with the synchronous client (the CLI)."""
    response = client.options(ignore_status=404).search(
        index=layout.incidents, query=incidents_query(brand, open_only), size=size, sort=NEWEST_FIRST
    )
    return _incidents(response.body)


def read_incident(client: Elasticsearch, layout: Layout, incident_id: str) -> Incident | None:
    """:func:`get_incident` with the synchronous client (the CLI)."""
    return _incident(client.options(ignore_status=404).get(index=layout.incidents, id=incident_id).body)


def _incidents(body: Mapping[str, Any]) -> list[Incident]:
    return [incident_from_document(hit["_source"]) for hit in body.get("hits", {}).get("hits", [])]


def _incident(body: Mapping[str, Any]) -> Incident | None:
    return incident_from_document(body["_source"]) if body.get("found") else None


@dataclass(frozen=True, slots=True)
class Enrichment:
    top_terms: tuple[str, ...] = ()
    representatives: tuple[Representative, ...] = ()


_FIELDS = [
    "message",
    "@timestamp",
    "url.full",
    "user.id",
    "user.name",
    "flarewatch.mention_id",
    "flarewatch.author.followers",
    "flarewatch.sentiment_scores.negative",
]


class Enricher:
    """Top terms and representative mentions of an incident, from the mentions index.

    ``enrich`` sends one multi-search: a random sample of up to ``foreground`` of the incident's
    mentions (its brand's customers' complaints, or negative mentions, in its category when it has
    one, from its start to the end of its latest bucket), the most reached and the most negative of
    them, and a random sample of up to ``background`` of the brand's customers' mentions in the
    ``background_days`` before it started. Raises what the client raises (the caller decides)."""

    def __init__(
        self,
        client: AsyncElasticsearch,
        layout: Layout,
        foreground: int = 200,
        background: int = 1000,
        background_days: int = 7,
        terms: int = 10,
        representatives: int = 5,
        exclude: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.client = client
        self.layout = layout
        self.foreground = foreground
        self.background = background
        self.background_days = background_days
        self.terms = terms
        self.representatives = representatives
        self.exclude = exclude or {}
        """Per brand: words never reported as terms (the brand's name is always left out)."""

    async def enrich(self, incident: IncidentView) -> Enrichment:
        fg, reach, negative, bg = await self._search(incident)
        exclude = [incident.brand, *self.exclude.get(incident.brand, ())]
        texts = [c.text for c in fg]
        terms = await asyncio.to_thread(
            significant_terms, texts, [c.text for c in bg], self.terms, exclude=exclude
        )
        picks = pick(_unique([*reach, *negative, *fg]), self.representatives)
        return Enrichment(tuple(terms), tuple(_representative(p.candidate, p.why) for p in picks))

    async def _search(self, incident: IncidentView) -> list[list[Candidate]]:
        since, until = window(incident)
        mentions = _mentions_filter(incident, since, until)
        seed = zlib.crc32(incident.incident_id.encode())
        background: list[dict[str, Any]] = [
            {"term": {"flarewatch.brand": incident.brand}},
            {"term": {"flarewatch.from_brand": False}},
            {"range": {"@timestamp": _range(since - timedelta(days=self.background_days), since)}},
        ]
        top = min(20, self.foreground)
        bodies = [
            _sample(mentions, self.foreground, seed),
            {"query": {"bool": {"filter": mentions}}, "size": top, "sort": _sort("author.followers")},
            {
                "query": {"bool": {"filter": mentions}},
                "size": top,
                "sort": _sort("sentiment_scores.negative"),
            },
            _sample(background, self.background, seed),
        ]
        searches: list[dict[str, Any]] = []
        for body in bodies:
            searches += [{"index": self.layout.mentions}, {**body, "_source": _FIELDS}]
        response = await self.client.msearch(searches=searches)
        results = []
        for answer in response.body["responses"]:
            if "error" in answer:
                raise RuntimeError(f"searching the incident's mentions failed: {answer['error']}")
            results.append([_candidate(hit["_source"]) for hit in answer["hits"]["hits"]])
        return results


def _mentions_filter(incident: IncidentView, since: datetime, until: datetime) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [
        {"term": {"flarewatch.brand": incident.brand}},
        {"term": {"flarewatch.from_brand": False}},
        {"range": {"@timestamp": _range(since, until)}},
    ]
    if incident.measure == "complaints":
        filters.append({"term": {"flarewatch.complaint": True}})
    else:
        filters.append({"term": {"flarewatch.sentiment": "negative"}})
    if incident.category:
        filters.append({"term": {"flarewatch.category": incident.category}})
    return filters


def _range(since: datetime, until: datetime) -> dict[str, str]:
    return {"gte": since.isoformat(), "lt": until.isoformat()}


def _sample(filters: list[dict[str, Any]], size: int, seed: int) -> dict[str, Any]:
    """A random (but for one seed repeatable) sample of the matching mentions."""
    score = {"seed": seed, "field": "_seq_no"}
    query = {"bool": {"filter": filters}}
    return {
        "query": {"function_score": {"query": query, "random_score": score, "boost_mode": "replace"}},
        "size": size,
    }


def _sort(field: str) -> list[dict[str, Any]]:
    return [{f"flarewatch.{field}": {"order": "desc", "missing": "_last"}}, {"@timestamp": "asc"}]


def _candidate(src: Mapping[str, Any]) -> Candidate:
    fw = src.get("flarewatch", {})
    user = src.get("user") or {}
    created = src.get("@timestamp")
    return Candidate(
        mention_id=str(fw.get("mention_id", "")),
        text=str(src.get("message") or ""),
        followers=(fw.get("author") or {}).get("followers"),
        negative=(fw.get("sentiment_scores") or {}).get("negative"),
        created_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
        url=(src.get("url") or {}).get("full"),
        author=user.get("name") or user.get("id"),
    )


def _unique(candidates: Sequence[Candidate]) -> list[Candidate]:
    return list({c.mention_id: c for c in reversed(candidates)}.values())


def _representative(c: Candidate, why: str) -> Representative:
    text = c.text if len(c.text) <= MAX_TEXT_CHARS else c.text[: MAX_TEXT_CHARS - 1] + "…"
    return Representative.model_validate(
        {
            "mention_id": c.mention_id,
            "text": text,
            "url": c.url,
            "author": c.author,
            "followers": c.followers,
            "negative": c.negative,
            "created_at": c.created_at,
            "why": why,
        }
    )

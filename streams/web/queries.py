"""What the crisis-room page reads and changes in Elasticsearch, as typed records.

:class:`PageData` is the interface the web app depends on; :class:`SearchData` implements it with
the synchronous client (its methods block: the app calls them in a thread)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal, Protocol

from elasticsearch import Elasticsearch

from models.threads.metrics import ReportRow
from models.threads.policy import SlaPolicy
from streams.contracts.incidents import Incident
from streams.search.incidents import read_incident, read_incidents
from streams.search.layout import Layout
from streams.search.queries import MentionFilter, mention_query
from streams.search.sla import WALL_CLOCK, sla_report
from streams.search.thread_commands import resolve_thread

MAX_ROWS = 100
"""The most incidents, threads or search hits one answer carries."""
MAX_BUCKETS = 120
AWAITING = ("new", "awaiting_brand")
SENTIMENTS = ("negative", "neutral", "positive", "unscored")
INTERVALS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
Kind = Literal["mentions", "threads"]


@dataclass(frozen=True, slots=True)
class AwaitingThread:
    """A thread that waits for the brand's reply. ``seconds_left`` (negative: overdue) when its
    document has an SLA clock, else only ``waiting_seconds``."""

    key: str
    brand: str
    platform: str
    status: str
    text: str
    awaiting_since: datetime | None
    waiting_seconds: float | None
    due_at: datetime | None
    seconds_left: float | None
    target: str | None
    sla_state: str | None
    mentions: int
    reply_mistakes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SearchRequest:
    filter: MentionFilter
    kind: Kind = "mentions"
    size: int = 50


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: Kind
    id: str
    at: datetime | None
    brand: str
    platform: str
    sentiment: str | None
    category: str | None
    text: str
    status: str | None


@dataclass(frozen=True, slots=True)
class Bucket:
    at: datetime
    counts: tuple[tuple[str, int], ...]
    """Mentions by sentiment, in :data:`SENTIMENTS` order."""


@dataclass(frozen=True, slots=True)
class IncidentMark:
    incident_id: str
    at: datetime
    severity: str
    state: str


@dataclass(frozen=True, slots=True)
class Timeline:
    since: datetime | None
    until: datetime | None
    interval_seconds: int
    buckets: tuple[Bucket, ...]
    incidents: tuple[IncidentMark, ...]


class Resolved(Enum):
    RESOLVED = "resolved"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    """Other writers kept changing the thread; nothing was written."""


class PageData(Protocol):
    """The page's reads and writes. Every method may block and raises what the client raises."""

    def incidents(self) -> list[Incident]:
        """The open incidents, then the resolved ones; the newest start first in each."""
        ...

    def incident(self, incident_id: str) -> Incident | None: ...

    def awaiting(self, now: datetime) -> list[AwaitingThread]: ...

    def search(self, request: SearchRequest) -> list[SearchHit]: ...

    def timeline(self, since: datetime | None, until: datetime | None, brand: str | None) -> Timeline: ...

    def sla(
        self, since: datetime | None, until: datetime | None, brand: str | None
    ) -> list[ReportRow] | None:
        """None when SLA figures are not available in this installation."""
        ...

    def resolve_thread(self, key: str, now: datetime) -> Resolved: ...


class SearchData:
    def __init__(self, client: Elasticsearch, layout: Layout, policy: SlaPolicy = WALL_CLOCK) -> None:
        self.client, self.layout, self.policy = client, layout, policy

    def incidents(self) -> list[Incident]:
        return open_first(read_incidents(self.client, self.layout, size=MAX_ROWS))

    def incident(self, incident_id: str) -> Incident | None:
        return read_incident(self.client, self.layout, incident_id)

    def awaiting(self, now: datetime) -> list[AwaitingThread]:
        response = self.client.options(ignore_status=404).search(
            index=self.layout.threads,
            query={"bool": {"filter": [{"terms": {"flarewatch.thread.status": list(AWAITING)}}]}},
            sort=[
                {"flarewatch.thread.sla.due_at": {"order": "asc", "missing": "_last"}},
                {"flarewatch.thread.awaiting_since": {"order": "asc", "missing": "_last"}},
            ],
            size=MAX_ROWS,
        )
        return awaiting_threads(_hits(response.body), now)

    def search(self, request: SearchRequest) -> list[SearchHit]:
        threads = request.kind == "threads"
        response = self.client.options(ignore_status=404).search(
            index=self.layout.threads if threads else self.layout.mentions,
            query=thread_query(request.filter) if threads else mention_query(request.filter),
            sort=[{"@timestamp": "desc"}],
            size=min(request.size, MAX_ROWS),
        )
        convert = thread_hit if threads else mention_hit
        return [convert(hit) for hit in _hits(response.body)]

    def timeline(self, since: datetime | None, until: datetime | None, brand: str | None) -> Timeline:
        filters = _time_filters(since, until, brand)
        interval = self._interval(filters, since, until)
        response = self.client.options(ignore_status=404).search(
            index=self.layout.mentions, query={"bool": {"filter": filters}}, size=0, aggs=_histogram(interval)
        )
        marks = [
            IncidentMark(i.incident_id, i.started_at, i.severity, i.state.value)
            for i in read_incidents(self.client, self.layout, brand, size=MAX_ROWS)
            if (since is None or i.started_at >= since) and (until is None or i.started_at < until)
        ]
        return Timeline(since, until, interval, buckets(response.body), tuple(marks))

    def _interval(self, filters: list[dict[str, Any]], since: datetime | None, until: datetime | None) -> int:
        first = since or self._edge(filters, "asc")
        last = until or self._edge(filters, "desc")
        span = (last - first).total_seconds() if first is not None and last is not None else 0.0
        return interval_for(span)

    def _edge(self, filters: list[dict[str, Any]], order: str) -> datetime | None:
        """The first or last mention's time (a sorted search: min/max aggregations over dates are
        not in every Elasticsearch-API server)."""
        response = self.client.options(ignore_status=404).search(
            index=self.layout.mentions,
            query={"bool": {"filter": filters}},
            size=1,
            sort=[{"@timestamp": order}],
            source_includes=["@timestamp"],
        )
        hits = _hits(response.body)
        return _date(hits[0]["_source"].get("@timestamp")) if hits else None

    def sla(
        self, since: datetime | None, until: datetime | None, brand: str | None
    ) -> list[ReportRow] | None:
        return sla_report(
            self.client,
            self.layout,
            brand=brand,
            since=since,
            until=until,
            group_by=("brand",),
            policy=self.policy,
        )

    def resolve_thread(self, key: str, now: datetime) -> Resolved:
        """Resolves the thread with optimistic concurrency (see :func:`resolve_thread`)."""
        try:
            thread = resolve_thread(self.client, self.layout, key, now, self.policy)
        except RuntimeError:
            return Resolved.CONFLICT
        return Resolved.NOT_FOUND if thread is None else Resolved.RESOLVED


def open_first(incidents: Sequence[Incident]) -> list[Incident]:
    return sorted(incidents, key=lambda i: not i.open)


def interval_for(span_seconds: float) -> int:
    """The smallest of :data:`INTERVALS` that cuts ``span_seconds`` into at most
    :data:`MAX_BUCKETS` buckets."""
    for interval in INTERVALS:
        if span_seconds / interval <= MAX_BUCKETS:
            return interval
    return INTERVALS[-1]


def awaiting_threads(hits: Sequence[Mapping[str, Any]], now: datetime) -> list[AwaitingThread]:
    return [awaiting_thread(hit["_source"], now) for hit in hits]


def awaiting_thread(source: Mapping[str, Any], now: datetime) -> AwaitingThread:
    fw = source["flarewatch"]
    t = fw["thread"]
    sla = t.get("sla") or {}
    since, due = _date(t.get("awaiting_since")), _date(sla.get("due_at"))
    return AwaitingThread(
        key=str(t["key"]),
        brand=str(fw.get("brand", "")),
        platform=str(fw.get("platform", "")),
        status=str(t.get("status", "")),
        text=str(source.get("message") or ""),
        awaiting_since=since,
        waiting_seconds=None if since is None else (now - since).total_seconds(),
        due_at=due,
        seconds_left=None if due is None else (due - now).total_seconds(),
        target=sla.get("target"),
        sla_state=sla.get("state"),
        mentions=int(t.get("mentions") or 0),
        reply_mistakes=tuple(t.get("reply_mistakes") or ()),
    )


def thread_query(f: MentionFilter) -> dict[str, Any]:
    """Threads by their opening text, brand, worst sentiment, a category among their mentions and
    their last activity."""
    query = mention_query(MentionFilter(text=f.text, brand=f.brand, since=f.since, until=f.until))
    filters: list[dict[str, Any]] = query["bool"]["filter"]
    if f.sentiment:
        filters.append({"term": {"flarewatch.thread.sentiment.worst": f.sentiment}})
    if f.category:
        filters.append({"range": {f"flarewatch.thread.categories.{f.category}": {"gt": 0}}})
    return query


def mention_hit(hit: Mapping[str, Any]) -> SearchHit:
    src = hit["_source"]
    fw = src.get("flarewatch", {})
    return SearchHit(
        "mentions",
        str(hit["_id"]),
        _date(src.get("@timestamp")),
        str(fw.get("brand", "")),
        str(fw.get("platform", "")),
        fw.get("sentiment"),
        fw.get("category"),
        str(src.get("message") or ""),
        None,
    )


def thread_hit(hit: Mapping[str, Any]) -> SearchHit:
    src = hit["_source"]
    fw = src.get("flarewatch", {})
    t = fw.get("thread", {})
    categories: Mapping[str, int] = t.get("categories") or {}
    top = max(categories, key=lambda c: (categories[c], c)) if any(categories.values()) else None
    return SearchHit(
        "threads",
        str(hit["_id"]),
        _date(src.get("@timestamp")),
        str(fw.get("brand", "")),
        str(fw.get("platform", "")),
        (t.get("sentiment") or {}).get("worst"),
        top,
        str(src.get("message") or ""),
        t.get("status"),
    )


def buckets(body: Mapping[str, Any]) -> tuple[Bucket, ...]:
    found = ((body.get("aggregations") or {}).get("volume") or {}).get("buckets") or []
    result = []
    for b in found:
        by = {s["key"]: int(s["doc_count"]) for s in (b.get("sentiment") or {}).get("buckets", [])}
        at = datetime.fromtimestamp(b["key"] / 1000, tz=UTC)
        result.append(Bucket(at, tuple((s, by.get(s, 0)) for s in SENTIMENTS)))
    return tuple(result)


def _histogram(interval: int) -> dict[str, Any]:
    return {
        "volume": {
            "date_histogram": {"field": "@timestamp", "fixed_interval": f"{interval}s", "min_doc_count": 0},
            "aggs": {"sentiment": {"terms": {"field": "flarewatch.sentiment", "size": len(SENTIMENTS)}}},
        }
    }


def _time_filters(since: datetime | None, until: datetime | None, brand: str | None) -> list[dict[str, Any]]:
    query = mention_query(MentionFilter(brand=brand, since=since, until=until))
    filters: list[dict[str, Any]] = query["bool"]["filter"]
    return filters


def _hits(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    hits: list[Mapping[str, Any]] = (body.get("hits") or {}).get("hits") or []
    return hits


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

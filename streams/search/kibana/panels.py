"""The crisis-room dashboard's panels, as typed specs: what each panel shows, over which data
view and fields. :mod:`streams.search.kibana.objects` turns them into saved objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

View = Literal["mentions", "threads", "incidents", "deliveries"]
Operation = Literal["count", "date_histogram", "terms", "average", "median", "percentile", "sum"]
ChartKind = Literal["line", "bar_stacked", "bar_percentage_stacked", "table"]

AWAITING_BRAND = "flarewatch.thread.status:(new or awaiting_brand)"
"""Threads where the brand owes the next reply (see ``models.threads.status``)."""
OPEN_INCIDENT = "not flarewatch.incident.state:resolved"


@dataclass(frozen=True, slots=True)
class Column:
    operation: Operation
    label: str
    field: str | None = None
    """None only for ``count``."""
    size: int = 10
    """Buckets of a ``terms`` column."""
    percentile: int = 90
    kql: str = ""
    """A metric's own filter (Lens "filter by")."""


@dataclass(frozen=True, slots=True)
class Chart:
    """A Lens visualisation. XY kinds: the first bucket is the x axis, a second one splits the
    series. ``table``: every bucket is a row column."""

    key: str
    title: str
    view: View
    kind: ChartKind
    buckets: tuple[Column, ...]
    metrics: tuple[Column, ...]
    query: str = ""
    width: int = 24
    height: int = 12


@dataclass(frozen=True, slots=True)
class Listing:
    """A saved search (Discover columns), shown on the dashboard as a table of documents."""

    key: str
    title: str
    view: View
    columns: tuple[str, ...]
    sort: tuple[str, Literal["asc", "desc"]]
    query: str = ""
    width: int = 24
    height: int = 12


@dataclass(frozen=True, slots=True)
class SignificantTerms:
    """An aggregation-based table with a ``significant_terms`` bucket: terms unusually frequent in
    the time range compared with the whole index (Lens has no such operation)."""

    key: str
    title: str
    view: View
    field: str
    size: int = 20
    query: str = ""
    width: int = 24
    height: int = 12


Panel = Chart | Listing | SignificantTerms

COUNT = Column("count", "Mentions")
BRAND = Column("terms", "Brand", "flarewatch.brand")
OVER_TIME = Column("date_histogram", "Time", "@timestamp")

CRISIS_ROOM: tuple[Panel, ...] = (
    Chart("volume", "Mention volume per brand", "mentions", "line", (OVER_TIME, BRAND), (COUNT,)),
    Chart(
        "negative-share",
        "Sentiment share over time",
        "mentions",
        "bar_percentage_stacked",
        (OVER_TIME, Column("terms", "Sentiment", "flarewatch.sentiment", size=5)),
        (COUNT,),
        query="flarewatch.from_brand:false",
    ),
    Chart(
        "negative-volume",
        "Negative mentions per brand",
        "mentions",
        "line",
        (OVER_TIME, BRAND),
        (Column("count", "Negative mentions", kql="flarewatch.sentiment:negative"),),
        query="flarewatch.from_brand:false",
    ),
    Chart(
        "complaint-categories",
        "Complaint categories",
        "mentions",
        "bar_stacked",
        (OVER_TIME, Column("terms", "Category", "flarewatch.category", size=12)),
        (Column("count", "Complaints"),),
        query="flarewatch.complaint:true and flarewatch.from_brand:false",
    ),
    Chart(
        "open-incidents",
        "Open incidents by severity",
        "incidents",
        "table",
        (
            Column("terms", "Severity", "flarewatch.incident.severity", size=5),
            BRAND,
            Column("terms", "Category", "flarewatch.incident.category", size=12),
            Column("terms", "State", "flarewatch.incident.state", size=5),
        ),
        (Column("count", "Incidents"), Column("sum", "Mentions", "flarewatch.incident.total")),
        query=OPEN_INCIDENT,
    ),
    Listing(
        "awaiting-brand",
        "Threads awaiting the brand (SLA clock)",
        "threads",
        (
            "flarewatch.brand",
            "flarewatch.platform",
            "flarewatch.thread.key",
            "flarewatch.thread.status",
            "flarewatch.thread.awaiting_since",
            "flarewatch.thread.sla.target",
            "flarewatch.thread.sla.due_at",
            "flarewatch.thread.sla.state",
        ),
        ("flarewatch.thread.sla.due_at", "asc"),
        query=AWAITING_BRAND,
    ),
    Chart(
        "first-response",
        "First-response time against the target",
        "threads",
        "line",
        (Column("date_histogram", "First response", "flarewatch.thread.first_response_at"),),
        (
            Column("median", "Median (s)", "flarewatch.thread.first_response_seconds"),
            Column("percentile", "90th percentile (s)", "flarewatch.thread.first_response_seconds"),
            Column(
                "median", "Median, business hours (s)", "flarewatch.thread.first_response_business_seconds"
            ),
            Column("average", "Target (s)", "flarewatch.thread.sla.target_seconds"),
        ),
    ),
    Chart(
        "reply-mistakes",
        "Brand-reply mistakes",
        "threads",
        "bar_stacked",
        (Column("terms", "Mistake", "flarewatch.thread.reply_mistakes"), BRAND),
        (Column("count", "Threads"),),
    ),
    SignificantTerms(
        "significant-terms", "Significant terms in incidents", "incidents", "flarewatch.incident.top_terms"
    ),
)

"""Response-time figures over the thread documents of a period: what ``flarewatch sla report`` and
the crisis-room page show."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from models.threads.calendar import BusinessCalendar
from models.threads.metrics import GROUP_FIELDS, ReportRow, ThreadFacts, report, response_times
from models.threads.policy import SlaPolicy
from models.threads.sla import DEFAULT_TARGETS
from streams.contracts.records import Thread
from streams.search.documents import thread_from_document
from streams.search.layout import Layout
from streams.search.threads import state_of

WALL_CLOCK = SlaPolicy(BusinessCalendar.always(), DEFAULT_TARGETS)


def sla_report(
    client: Elasticsearch,
    layout: Layout,
    brand: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: Sequence[str] = GROUP_FIELDS,
    policy: SlaPolicy = WALL_CLOCK,
    business: bool = False,
) -> list[ReportRow]:
    """The figures of the threads that started in ``[since, until)``. With ``business``, response
    times count only the brand's business hours (``policy``); otherwise wall-clock time."""
    facts = [
        facts_of(t, policy.calendar(t.brand), business) for t in threads(client, layout, brand, since, until)
    ]
    return report(facts, group_by)


def threads(
    client: Elasticsearch,
    layout: Layout,
    brand: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Iterator[Thread]:
    filters: list[dict[str, Any]] = []
    if brand is not None:
        filters.append({"term": {"flarewatch.brand": brand}})
    if since is not None or until is not None:
        bounds = {"gte": since.isoformat() if since else None, "lt": until.isoformat() if until else None}
        filters.append({"range": {"flarewatch.thread.started_at": {k: v for k, v in bounds.items() if v}}})
    for hit in scan(
        client,
        index=layout.threads,
        query={"query": {"bool": {"filter": filters}}},
        size=500,
        ignore_unavailable=True,
    ):
        yield thread_from_document(hit["_source"])


def facts_of(thread: Thread, calendar: BusinessCalendar, business: bool) -> ThreadFacts:
    state = state_of(thread)
    resolved = thread.status_changed_at if thread.status == "resolved" else None
    category = max(thread.categories, key=lambda c: (thread.categories[c], c)) if thread.categories else None
    return ThreadFacts(
        brand=thread.brand,
        channel="public" if thread.public else "private",
        category=category,
        mentions=thread.mentions,
        negative=thread.negative,
        times=response_times(state.turns, calendar, business),
        resolved_at=resolved,
        started_at=thread.started_at,
        mistakes=frozenset(thread.reply_mistakes),
    )

"""The periodic pass over open threads: SLA warnings and breaches that fell due, and threads that
went quiet (``stale``). Time passing changes these, not new mentions, so no agent would notice.

Each alert is published (to the notifiers' topic) before its id is recorded on the thread, and the
thread is written back only if nobody changed it meanwhile (``if_seq_no``): a crash or a race can
publish an alert again, never lose it, and the delivery records send it once per notifier.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError
from elasticsearch.helpers import async_scan

from models.threads.policy import SlaPolicy
from models.threads.sla import SlaAlert, due_alerts
from streams.contracts.records import StatusChange, Thread, utc_now
from streams.contracts.sla import SlaEvent
from streams.search.documents import thread_document, thread_from_document
from streams.search.layout import Layout
from streams.search.threads import service, state_of

log = logging.getLogger("flarewatch.search")
OPEN = ("new", "awaiting_brand", "awaiting_customer")
Publish = Callable[[Sequence[SlaEvent]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SweepResult:
    threads: int
    alerts: int
    stale: int
    conflicts: int


class ThreadSweeper:
    """``sweep`` reads every open thread once; it may take a while on a large index and must run
    in one place at a time (the worker runs it on the leader only)."""

    def __init__(
        self,
        client: AsyncElasticsearch,
        layout: Layout,
        policy: SlaPolicy,
        publish: Publish,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.client = client
        self.layout = layout
        self.policy = policy
        self.publish = publish
        self.clock = clock

    async def sweep(self) -> SweepResult:
        now = self.clock()
        seen = alerts = stale = conflicts = 0
        async for hit in async_scan(
            self.client,
            index=self.layout.threads,
            query={"query": {"terms": {"flarewatch.thread.status": list(OPEN)}}},
            size=500,
            seq_no_primary_term=True,
            ignore_unavailable=True,
        ):
            seen += 1
            thread = thread_from_document(hit["_source"])
            opening = hit["_source"].get("message")
            events = self._events(thread, now, opening if isinstance(opening, str) else None)
            swept = self._swept(thread, events, now)
            if swept == thread:
                continue
            if events:
                await self.publish(events)
            try:
                await self._write(hit, swept, now)
            except ConflictError:
                conflicts += 1  # changed meanwhile: the next sweep looks again
                continue
            alerts += len(events)
            stale += swept.status == "stale" and thread.status != "stale"
        result = SweepResult(seen, alerts, stale, conflicts)
        if alerts or stale or conflicts:
            log.info("sweep threads=%d alerts=%d stale=%d conflicts=%d", seen, alerts, stale, conflicts)
        return result

    def _events(self, thread: Thread, now: datetime, opening: str | None) -> list[SlaEvent]:
        clocks = self.policy.clocks(thread.brand, state_of(thread), thread.public, now)
        due = [a for a in due_alerts(thread.key, clocks, now) if a.alert_id not in thread.alerts_sent]
        seconds = {c.target: c.elapsed_seconds + c.remaining_seconds for c in clocks}
        return [_event(thread, a, seconds[a.target], now, opening) for a in due]

    def _swept(self, thread: Thread, events: Sequence[SlaEvent], now: datetime) -> Thread:
        update: dict[str, Any] = {}
        if events:
            update["alerts_sent"] = (*thread.alerts_sent, *(e.event_id for e in events))
        current = state_of(thread).status(self.policy.stale_after, now)
        if current is not None and current.status == "stale" and thread.status != "stale":
            change = StatusChange(status="stale", at=current.at)
            update |= {
                "status": "stale",
                "status_changed_at": current.at,
                "status_history": (*thread.status_history, change),
            }
        return thread.model_copy(update=update) if update else thread

    async def _write(self, hit: dict[str, Any], thread: Thread, now: datetime) -> None:
        source = thread_document(thread, hit["_source"].get("message"), service(thread, self.policy, now))
        await self.client.index(
            index=self.layout.threads,
            id=hit["_id"],
            document=source,
            if_seq_no=hit["_seq_no"],
            if_primary_term=hit["_primary_term"],
        )


def _event(
    thread: Thread, alert: SlaAlert, target_seconds: float, now: datetime, opening: str | None
) -> SlaEvent:
    return SlaEvent(
        event_id=alert.alert_id,
        type="sla.breach" if alert.kind == "breach" else "sla.warning",
        brand=thread.brand,
        thread_key=thread.key,
        platform=thread.platform.value,
        channel="public" if thread.public else "private",
        status=thread.status,
        target=alert.target,
        target_seconds=target_seconds,
        started_at=alert.started_at,
        due_at=alert.due_at,
        opening=None if opening is None else opening[:500],
        emitted_at=now,
    )

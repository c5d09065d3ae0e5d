"""The agents after detection: incidents (signals and commands in; incident documents and events
out) and one notify agent per notifier (events in; a delivery record per version out)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, TransportError

from streams.contracts.codec import Invalid, encode
from streams.contracts.incidents import Delivery, Incident
from streams.contracts.limits import MAX_MESSAGE_BYTES
from streams.contracts.records import Stage
from streams.contracts.sla import Alert, decode_alert
from streams.search.sink import TRANSIENT_STATUS, Backoff
from streams.worker.agents import Agent, Context
from streams.worker.messages import Failed, Incoming, error_reason, failed
from streams.worker.metrics import Tally
from streams.worker.steps.incidents import IncidentsOutput, IncidentsStep
from streams.worker.steps.writes import rejection_reason

if TYPE_CHECKING:
    from streams.search.sink import Rejected

log = logging.getLogger("flarewatch.worker")


class IncidentWriter(Protocol):
    async def incidents(self, batch: Sequence[Incident]) -> list[Rejected]:
        """Index each incident's latest version (``_id``: incident id); the documents rejected for
        good. Waits out transient failures; raises for a non-transient failure of the request."""
        ...


class IncidentsAgent(Agent[IncidentsOutput]):
    """Indexes every new incident version, then publishes its event to the incidents topic keyed
    by incident id, then stores the books (both writes are idempotent: a version made again after
    a restart overwrites its document and has the same event id). An incident document the search
    server refuses is logged and its message dead-lettered, but the event is still published:
    paging matters more than the document."""

    stage = Stage.INCIDENTS

    def __init__(self, context: Context, step: IncidentsStep, writer: IncidentWriter) -> None:
        super().__init__(context)
        self.step = step
        self.writer = writer

    async def run(self, batch: Sequence[Incoming]) -> IncidentsOutput:
        return await self.step.run(batch)

    async def emit(self, out: IncidentsOutput, seconds: float) -> None:
        refused = await self._index(out)
        events = [(v.event.incident.incident_id.encode(), encode(v.event)) for v in out.versions]
        await self.context.outbox.publish(self.context.topics.incidents, events)
        self.step.save(out)
        for event in out.events:
            self.context.counters.tally(Tally.INCIDENT_EVENTS, event.type)
        versions = " ".join(
            f"{e.event_id}:{e.incident.state.value}{'' if e.page else '/muted'}" for e in out.events
        )
        log.info(
            "incidents batch=%d versions=%d unenriched=%d ignored=%d refused=%d dead=%d ms=%.0f %s",
            len(out.valid),
            len(out.versions),
            out.unenriched,
            out.ignored,
            refused,
            len(out.dead),
            1000 * seconds,
            versions,
        )

    async def _index(self, out: IncidentsOutput) -> int:
        """Index the versions; dead-letters (into ``out``) the messages whose documents were not
        written. Returns how many were not."""
        if not out.versions:
            return 0
        reasons: dict[str, str] = {}
        try:
            for r in await self.writer.incidents(out.incidents):
                reasons[r.action.id] = rejection_reason(r)
        except Exception as exc:
            log.exception("indexing %d incident versions failed", len(out.versions))
            reasons = {i.incident_id: error_reason("indexing the incident", exc) for i in out.incidents}
        refused: dict[int, tuple[Incoming, set[str]]] = {}
        for v in out.versions:
            why = reasons.get(v.event.incident.incident_id)
            if why is not None:
                refused.setdefault(id(v.message), (v.message, set()))[1].add(why)
        for message, whys in refused.values():
            reason = "published, but not indexed: " + "; ".join(sorted(whys))
            out.dead.append(failed(message, reason, Stage.INCIDENTS))
        return len(reasons)


class Deliverer(Protocol):
    async def deliver(self, event: Alert) -> Delivery | None:
        """The event's delivery record (None: not routed to this notifier). Never raises for the
        notifier's failures; raises when the delivery records cannot be read or written."""
        ...


@dataclass(slots=True)
class NotifyOutput:
    deliveries: list[Delivery] = field(default_factory=list)
    skipped: int = 0
    """Events not routed to this notifier."""
    dead: list[Failed] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)


class NotifyAgent(Agent[NotifyOutput]):
    """Delivers each incident event through one notifier, in order. Delivery records that cannot
    be read or written because the search server is unavailable are retried (backing off) until
    they can: the event is never dropped for it; any other failure of the records dead-letters
    the event with stage ``notify``. The delivery counters are the deliverer's callbacks'."""

    stage = Stage.NOTIFY

    def __init__(
        self,
        context: Context,
        deliverer: Deliverer,
        max_bytes: int = MAX_MESSAGE_BYTES,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(context)
        self.deliverer = deliverer
        self.max_bytes = max_bytes
        self.backoff = backoff or Backoff()
        self.sleep = sleep

    async def run(self, batch: Sequence[Incoming]) -> NotifyOutput:
        out = NotifyOutput()
        for message in batch:
            event = decode_alert(message.value, message.partition, message.offset, self.max_bytes)
            if isinstance(event, Invalid):
                out.dead.append(failed(message, event.reason, Stage.NOTIFY))
                continue
            delivery = await self._deliver(event)
            if delivery is None:
                out.skipped += 1
            else:
                out.deliveries.append(delivery)
        dead = {id(message) for message, _ in out.dead}
        out.valid = [id(message) not in dead for message in batch]
        return out

    async def _deliver(self, event: Alert) -> Delivery | None:
        attempt = 0
        while True:
            try:
                return await self.deliverer.deliver(event)
            except Exception as exc:
                if not transient(exc):
                    raise
                delay = self.backoff.delay(attempt)
                log.warning(
                    "delivery records unavailable (%s: %s); retrying %s in %.1fs",
                    type(exc).__name__,
                    exc,
                    event.event_id,
                    delay,
                )
            await self.sleep(delay)
            attempt += 1

    async def emit(self, out: NotifyOutput, seconds: float) -> None:
        if not out.deliveries and not out.dead:
            return
        outcome = " ".join(f"{d.event_id}:{d.status}" for d in out.deliveries)
        log.info(
            "notify batch=%d deliveries=%d skipped=%d dead=%d ms=%.0f %s",
            len(out.valid),
            len(out.deliveries),
            out.skipped,
            len(out.dead),
            1000 * seconds,
            outcome,
        )


def transient(exc: Exception) -> bool:
    """The search server was unavailable, or answered 408, 429 or a 5xx: worth trying again."""
    if isinstance(exc, ConnectionError | ConnectionTimeout):
        return True
    if isinstance(exc, ApiError):
        return exc.status_code in TRANSIENT_STATUS
    return isinstance(exc, TransportError)

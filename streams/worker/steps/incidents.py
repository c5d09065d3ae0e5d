"""The incidents step: flare signals and incident commands in (both keyed by brand); new incident
versions out, each described (top terms, representative mentions, where to find its mentions) and
wrapped in the event the notifiers read.

Each brand's :class:`~models.incidents.Book` lives in a table (brand -> ``Book.to_json()``). The
step does not write the table itself: the agent calls :meth:`IncidentsStep.save` once the versions
are indexed and published, so a worker that dies in between applies the signal again after its
restart and makes the same versions (same ids; the notifiers' delivery records drop the repeats)
instead of losing them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from models.incidents import Book, Change, IncidentView
from streams.config.settings import Settings
from streams.contracts.codec import Invalid, decode
from streams.contracts.incidents import FlareSignal, Incident, IncidentCommand, IncidentEvent
from streams.contracts.records import Stage, utc_now
from streams.kafka.topics import Topics
from streams.search.client import layout
from streams.search.incidents import Enrichment
from streams.search.links import Links
from streams.worker.messages import Failed, Incoming, failed
from streams.worker.steps.incident_records import event_of, incident_of, signal_of

log = logging.getLogger("flarewatch.worker")


class Enricher(Protocol):
    async def enrich(self, incident: IncidentView) -> Enrichment:
        """Top terms and representative mentions of the incident. May be slow and may raise
        anything: the step cuts it off at its timeout and goes on without."""
        ...


@dataclass(frozen=True, slots=True)
class Version:
    message: Incoming
    """The signal or command that made it."""
    event: IncidentEvent


@dataclass(slots=True)
class IncidentsOutput:
    versions: list[Version] = field(default_factory=list)
    """New incident versions, in the order they were made."""
    books: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The books (brand -> state) to store once the versions are indexed and published."""
    unenriched: int = 0
    """Versions published without a fresh description (the search server failed or was slow)."""
    ignored: int = 0
    """Valid messages that changed nothing: redelivered signals, commands for unknown, resolved or
    already acknowledged incidents."""
    dead: list[Failed] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)

    @property
    def events(self) -> list[IncidentEvent]:
        return [v.event for v in self.versions]

    @property
    def incidents(self) -> list[Incident]:
        return [v.event.incident for v in self.versions]


Record = FlareSignal | IncidentCommand


class IncidentsStep:
    """``run`` never raises an ``Exception`` for what a message holds: undecodable messages,
    messages from another topic, and signals the lifecycle refuses (another brand's, or a book
    state it cannot read) are dead letters with stage ``incidents``. It waits for the enricher at
    most ``enrich_timeout_s`` per version."""

    def __init__(
        self,
        books: MutableMapping[str, Any],
        enricher: Enricher,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        enrich_timeout_s: float = 15.0,
        remembered: int = 1000,
    ) -> None:
        self.books = books
        self.enricher = enricher
        self.topics = Topics(settings.kafka.topic_prefix)
        self.config = settings.incidents.lifecycle()
        self.silences = settings.incidents.silence_rules()
        self.links = Links(settings.elasticsearch.kibana_url, layout(settings.elasticsearch).mentions)
        self.max_bytes = settings.worker.max_message_bytes
        self.clock = clock
        self.enrich_timeout_s = enrich_timeout_s
        self.remembered = remembered
        self._pending: dict[str, dict[str, Any]] = {}
        """Book states made but not yet saved: what the next batch builds on."""
        self._described: dict[str, Enrichment] = {}
        """The latest description per open incident, for a version the enricher fails on."""

    async def run(self, batch: Sequence[Incoming]) -> IncidentsOutput:
        out = IncidentsOutput()
        books: dict[str, Book] = {}
        for message in batch:
            await self._one(message, books, out)
        dead = {id(message) for message, _ in out.dead}
        out.valid = [id(message) not in dead for message in batch]
        out.books = {brand: book.to_json() for brand, book in books.items() if book.brand is not None}
        self._pending.update(out.books)
        return out

    def save(self, out: IncidentsOutput) -> None:
        """Store the books ``out`` made; call once its versions are indexed and published."""
        for brand, state in out.books.items():
            self.books[brand] = state
            if self._pending.get(brand) is state:
                del self._pending[brand]

    async def _one(self, message: Incoming, books: dict[str, Book], out: IncidentsOutput) -> None:
        record = self._decode(message)
        if isinstance(record, str):
            out.dead.append(failed(message, record, Stage.INCIDENTS))
            return
        try:
            book = books.get(record.brand) or self._book(record.brand)
            if isinstance(record, FlareSignal):
                changes = book.apply(signal_of(record))
            else:
                changes = book.acknowledge(record.incident_id, record.by, record.at)
        except ValueError as exc:
            out.dead.append(failed(message, f"the incident lifecycle refused it: {exc}", Stage.INCIDENTS))
            return
        books[record.brand] = book
        out.ignored += not changes
        for change in changes:
            out.versions.append(Version(message, await self._event(change, out)))

    def _decode(self, message: Incoming) -> Record | str:
        """The record, or why not."""
        kind: type[FlareSignal] | type[IncidentCommand]
        if message.topic == self.topics.flares:
            kind = FlareSignal
        elif message.topic == self.topics.incident_commands:
            kind = IncidentCommand
        else:
            return f"the incidents step does not read topic {message.topic}"
        record = decode(kind, message.value, message.partition, message.offset, self.max_bytes)
        return record.reason if isinstance(record, Invalid) else record

    def _book(self, brand: str) -> Book:
        """The brand's book as last made; raises ValueError when its stored state is unreadable."""
        state = self._pending.get(brand) or self.books.get(brand)
        try:
            return Book(self.config, self.silences, state)
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"the stored book of {brand!r} is unreadable ({type(exc).__name__}: {exc})"
            ) from exc

    async def _event(self, change: Change, out: IncidentsOutput) -> IncidentEvent:
        view = change.incident
        described = await self._describe(view, out)
        incident = incident_of(
            view,
            described.top_terms,
            described.representatives,
            self.links.search_command(view),
            self.links.discover_url(view),
        )
        return event_of(incident, change.page, self.clock())

    async def _describe(self, view: IncidentView, out: IncidentsOutput) -> Enrichment:
        """A fresh description; else (failed, or found nothing) the last one this step made for the
        incident; else none."""
        ident = view.incident_id
        try:
            async with asyncio.timeout(self.enrich_timeout_s):
                described = await self.enricher.enrich(view)
        except Exception as exc:
            out.unenriched += 1
            why = "timed out" if isinstance(exc, TimeoutError) else f"failed: {type(exc).__name__}: {exc}"
            log.warning("describing incident %s v%d %s; publishing it without", ident, view.version, why)
            described = self._described.get(ident, Enrichment())
        if described == Enrichment():  # no mentions found (not indexed yet?): keep what was found
            described = self._described.get(ident, described)
        self._described.pop(ident, None)
        if view.open:
            self._described[ident] = described
            while len(self._described) > self.remembered:
                del self._described[next(iter(self._described))]
        return described

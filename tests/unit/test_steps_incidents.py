"""The incidents step and agents, without a broker or a search server: signals and commands in,
incident versions, documents, events and delivery calls out."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import ConnectionError as SearchUnavailable

from models.incidents import IncidentView
from streams.config.settings import Settings
from streams.contracts.codec import encode
from streams.contracts.incidents import (
    Delivery,
    FlareSignal,
    IncidentCommand,
    IncidentEvent,
    Representative,
    SignalKind,
)
from streams.contracts.records import DeadLetter
from streams.kafka.dead_letters import DlqLimit
from streams.kafka.topics import Topics
from streams.search.incidents import Enrichment
from streams.search.layout import Layout
from streams.search.sink import Backoff
from streams.worker.agents import Context
from streams.worker.incident_agents import IncidentsAgent, NotifyAgent
from streams.worker.messages import Incoming
from streams.worker.metrics import Counters, Tally
from streams.worker.steps.incidents import IncidentsOutput, IncidentsStep
from tests.factories import T0
from tests.fakes.producer import BrokerDown, ListProducer
from tests.fakes.search import FakeSearch, indexer

TOPICS = Topics("fw")
SETTINGS = Settings(kafka={"topic_prefix": "fw"})  # type: ignore[arg-type]
ID = "zakupowo:payment:20261119T1200Z"


def signal(kind: str, bucket: int = 0, severity: str | None = "warning", observed: float = 40) -> FlareSignal:
    at = T0 + timedelta(minutes=5 * bucket)
    return FlareSignal(
        signal_id=f"zakupowo:payment:complaints:{at:%Y%m%dT%H%M}:{kind}",
        brand="zakupowo",
        category="payment",
        measure="complaints",
        kind=SignalKind(kind),
        flare_started_at=T0,
        bucket_start=at,
        bucket_seconds=300,
        severity=None if kind == "ended" else severity,  # type: ignore[arg-type]
        observed=observed,
        mentions=int(observed),
        expected=4.0,
        score=9.0,
        peak=observed,
        languages={"pl": int(observed)},
        categories={"payment": int(observed)},
        sample_mention_ids=("facebook:c1",),
    )


def ack(incident_id: str = ID, minutes: int = 7) -> IncidentCommand:
    at = T0 + timedelta(minutes=minutes)
    return IncidentCommand(command="acknowledge", incident_id=incident_id, brand="zakupowo", by="ola", at=at)


def message(value: bytes | FlareSignal | IncidentCommand, offset: int = 0) -> Incoming:
    topic = TOPICS.incident_commands if isinstance(value, IncidentCommand) else TOPICS.flares
    data = value if isinstance(value, bytes) else encode(value)
    return Incoming(data, b"zakupowo", topic, 0, offset)


TERMS = Enrichment(
    ("blik", "nie działa"),
    (Representative(mention_id="facebook:c1", text="BLIK nie działa", followers=5000, why="reach"),),
)


class FakeEnricher:
    def __init__(self, answer: Enrichment = TERMS) -> None:
        self.answer = answer
        self.fail = False
        self.slow = False
        self.seen: list[IncidentView] = []

    async def enrich(self, incident: IncidentView) -> Enrichment:
        self.seen.append(incident)
        if self.slow:
            await asyncio.sleep(1)
        if self.fail:
            raise SearchUnavailable("search is down")
        return self.answer


def step(table: dict[str, Any] | None = None, enricher: FakeEnricher | None = None) -> IncidentsStep:
    return IncidentsStep(
        {} if table is None else table,
        enricher or FakeEnricher(),
        SETTINGS,
        clock=lambda: T0,
        enrich_timeout_s=0.05,
    )


def run(
    s: IncidentsStep, *values: bytes | FlareSignal | IncidentCommand, save: bool = True
) -> IncidentsOutput:
    out = asyncio.run(s.run([message(v, i) for i, v in enumerate(values)]))
    if save:
        s.save(out)
    return out


def test_a_started_signal_triggers_an_incident_described_and_linked() -> None:
    table: dict[str, Any] = {}
    s = step(table)
    out = run(s, signal("started"), save=False)
    (event,) = out.events
    assert (event.event_id, event.type, event.page) == (f"{ID}:v1", "incident.triggered", True)
    i = event.incident
    assert (i.brand, i.category, i.severity, i.observed, i.expected) == (
        "zakupowo",
        "payment",
        "warning",
        40,
        4,
    )
    assert i.top_terms == ("blik", "nie działa") and i.representatives[0].followers == 5000
    assert i.search_command == (
        "flarewatch search --brand zakupowo --complaints --category payment "
        "--since 2026-11-19T12:00Z --until 2026-11-19T12:05Z"
    )
    assert i.kibana_url.startswith("http://localhost:5601/app/discover#/?_g=(time:(from:'2026-11-19T12:00Z'")
    assert "flarewatch-mentions" in i.kibana_url and "payment" in i.kibana_url
    assert out.valid == [True] and not out.dead
    assert table == {}  # stored only once published
    s.save(out)
    assert table["zakupowo"]["brand"] == "zakupowo"


def test_versions_follow_the_flare_and_the_acknowledgement() -> None:
    s = step()
    events = [
        *run(s, signal("started")).events,
        *run(s, signal("escalated", 1, "critical", 90)).events,
        *run(s, ack()).events,
        *run(s, signal("grown", 2, "critical", 95)).events,  # not 2x: no version
        *run(s, signal("ended", 3)).events,
    ]
    assert [(e.event_id, e.type) for e in events] == [
        (f"{ID}:v1", "incident.triggered"),
        (f"{ID}:v2", "incident.updated"),
        (f"{ID}:v3", "incident.acknowledged"),
        (f"{ID}:v4", "incident.resolved"),
    ]
    last = events[-1].incident
    assert last.acknowledged_by == "ola" and last.resolved_at == T0 + timedelta(minutes=15)
    assert [h.state.value for h in last.history] == ["triggered", "updated", "acknowledged", "resolved"]
    assert last.search_command.endswith("--until 2026-11-19T12:20Z")


def test_redelivered_signals_and_commands_for_unknown_incidents_change_nothing() -> None:
    s = step()
    run(s, signal("started"))
    out = run(s, signal("started"), ack("zakupowo:all:20261119T1200Z"), ack(), ack())
    assert [e.event_id for e in out.events] == [f"{ID}:v2"]
    assert out.ignored == 3 and out.valid == [True] * 4


def test_versions_not_yet_stored_are_made_again_after_a_restart() -> None:
    table: dict[str, Any] = {}
    s = step(table)
    first = run(s, signal("started"), save=False)
    assert [e.event_id for e in run(s, signal("escalated", 1, "critical"), save=False).events] == [f"{ID}:v2"]
    again = run(step(table), signal("started"))  # a new worker: nothing was stored
    assert again.events == first.events


def test_bad_messages_are_dead_letters_of_the_incidents_stage() -> None:
    wrong = Incoming(encode(signal("started")), None, "fw.mentions.scored", 0, 9)
    other_brand = signal("started").model_copy(update={"brand": "kosarka"})
    s = step({"kosarka": {"state_version": 99}})
    out = asyncio.run(
        s.run(
            [
                message(b"\xff\xfe not json"),
                message(b'{"schema_version": 1}', 1),
                wrong,
                message(other_brand, 3),
            ]
        )
    )
    reasons = [letter.reason for _, letter in out.dead]
    assert [letter.stage for _, letter in out.dead] == ["incidents"] * 4
    assert "does not read topic fw.mentions.scored" in reasons[2]
    assert "lifecycle refused" in reasons[3] and not out.versions
    assert out.valid == [False] * 4


def test_a_failed_or_slow_description_does_not_lose_the_version() -> None:
    enricher = FakeEnricher()
    s = step(enricher=enricher)
    run(s, signal("started"))
    enricher.fail = True
    out = run(s, signal("escalated", 1, "critical"))
    (event,) = out.events
    assert event.incident.version == 2 and event.incident.top_terms == TERMS.top_terms  # the last known
    assert out.unenriched == 1
    enricher.fail, enricher.answer = False, Enrichment()  # found nothing: the last description stays
    assert run(s, ack()).events[0].incident.top_terms == TERMS.top_terms
    enricher.slow = True
    fresh = step(enricher=enricher)
    out = run(fresh, signal("started"))
    assert out.events[0].incident.top_terms == () and out.unenriched == 1


class Harness:
    def __init__(self) -> None:
        self.producer = ListProducer()
        self.counters = Counters()
        self.context = Context(self.producer, TOPICS, self.counters, DlqLimit(), self.stop)
        self.stopped: list[BaseException] = []

    async def stop(self, exc: BaseException) -> None:
        self.stopped.append(exc)

    def dead(self) -> list[DeadLetter]:
        return self.producer.records(TOPICS.dead_letters, DeadLetter)


def test_the_incidents_agent_indexes_then_publishes_then_stores() -> None:
    h, search, table = Harness(), FakeSearch(), dict[str, Any]()
    agent = IncidentsAgent(h.context, step(table), indexer(search))
    asyncio.run(agent([message(signal("started")), message(b"nope", 1)]))
    doc = search.source(Layout().incidents, ID)
    assert doc is not None and doc["flarewatch"]["incident"]["version"] == 1
    (event,) = h.producer.records(TOPICS.incidents, IncidentEvent)
    assert event.event_id == f"{ID}:v1" and h.producer.keys(TOPICS.incidents) == [ID.encode()]
    assert h.counters.tallies(Tally.INCIDENT_EVENTS) == {("incident.triggered",): 1.0}
    assert "zakupowo" in table and [d.offset for d in h.dead()] == [1]


def test_a_refused_incident_document_is_dead_lettered_but_the_event_still_goes_out() -> None:
    h, search, table = Harness(), FakeSearch(reject={ID: "mapper_parsing_exception"}), dict[str, Any]()
    asyncio.run(IncidentsAgent(h.context, step(table), indexer(search))([message(signal("started"))]))
    assert len(h.producer.records(TOPICS.incidents, IncidentEvent)) == 1 and "zakupowo" in table
    (letter,) = h.dead()
    assert letter.stage == "incidents" and letter.reason.startswith("published, but not indexed")


def test_nothing_is_stored_when_the_broker_refuses_the_events() -> None:
    h, table = Harness(), dict[str, Any]()
    h.producer.down = True
    with pytest.raises(BrokerDown):
        asyncio.run(
            IncidentsAgent(h.context, step(table), indexer(FakeSearch()))([message(signal("started"))])
        )
    assert table == {}


class FakeDeliverer:
    def __init__(self, outages: int = 0, broken: bool = False) -> None:
        self.outages = outages
        self.broken = broken
        self.events: list[str] = []

    async def deliver(self, event: IncidentEvent) -> Delivery | None:
        if self.outages:
            self.outages -= 1
            raise SearchUnavailable("records unavailable")
        if self.broken:
            raise ValueError("a delivery record that does not parse")
        self.events.append(event.event_id)
        return Delivery(
            delivery_id=f"{event.event_id}:hook",
            event_id=event.event_id,
            incident_id=event.incident.incident_id,
            version=event.incident.version,
            type=event.type,
            notifier="hook",
            notifier_type="webhook",
            status="delivered",
            attempts=1,
            finished_at=T0,
        )


def notify_agent(h: Harness, deliverer: FakeDeliverer) -> NotifyAgent:
    async def no_wait(_: float) -> None:
        pass

    return NotifyAgent(h.context, deliverer, backoff=Backoff(0, 0), sleep=no_wait)


def events() -> list[Incoming]:
    out = run(step(), signal("started"))
    return [Incoming(encode(e), e.incident.incident_id.encode(), TOPICS.incidents, 0, 0) for e in out.events]


def test_the_notify_agent_delivers_each_event_and_dead_letters_bad_bytes() -> None:
    h, deliverer = Harness(), FakeDeliverer(outages=2)
    bad = Incoming(b"{", None, TOPICS.incidents, 0, 1)
    asyncio.run(notify_agent(h, deliverer)([*events(), bad]))
    assert deliverer.events == [f"{ID}:v1"]  # after waiting out the records' outage
    assert [(d.offset, d.stage) for d in h.dead()] == [(1, "notify")]


def test_a_delivery_record_that_cannot_be_handled_is_a_dead_letter() -> None:
    h = Harness()
    asyncio.run(notify_agent(h, FakeDeliverer(broken=True))(events()))
    (letter,) = h.dead()
    assert letter.stage == "notify" and "ValueError" in letter.reason

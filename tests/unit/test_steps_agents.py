"""What the agents do with a batch, without a broker: the steps, a list producer, fakes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from streams.contracts.incidents import FlareSignal
from streams.contracts.records import DeadLetter, ScoredMention
from streams.kafka.dead_letters import DlqLimit, TooManyInvalid
from streams.kafka.topics import Topics
from streams.worker.agents import Context, DetectAgent, IndexAgent, ScoreAgent
from streams.worker.messages import Incoming
from streams.worker.metrics import Counters, Metric, Tally
from streams.worker.steps.detect import DetectRules, DetectStep
from streams.worker.steps.index import IndexStep
from streams.worker.steps.score import ScoreStep
from tests.factories import mention, scored
from tests.fakes.detection import Calls, FakeSeries
from tests.fakes.messages import DEEP, batch
from tests.fakes.producer import BrokerDown, ListProducer
from tests.fakes.scoring import FixedScorer
from tests.fakes.search import FakeSearch, indexer

TOPICS = Topics("fw")


class Harness:
    def __init__(self, limit: DlqLimit | None = None) -> None:
        self.producer = ListProducer()
        self.counters = Counters()
        self.stopped: list[BaseException] = []
        self.context = Context(self.producer, TOPICS, self.counters, limit or DlqLimit(), self.stop)

    async def stop(self, exc: BaseException) -> None:
        self.stopped.append(exc)

    def count(self, metric: Metric) -> float:
        return self.counters.snapshot()[metric.value]

    def dead(self) -> list[DeadLetter]:
        return self.producer.records(TOPICS.dead_letters, DeadLetter)


def score_agent(h: Harness) -> ScoreAgent:
    return ScoreAgent(h.context, ScoreStep(FixedScorer(), frozenset({"zakupowo"})))


def test_the_score_agent_publishes_scored_mentions_and_dead_letters_and_counts() -> None:
    h = Harness()
    asyncio.run(score_agent(h)(batch(mention(1, text="refund!"), DEEP, mention(2, text="BOOM"))))
    (sent,) = h.producer.records(TOPICS.scored, ScoredMention)
    assert sent.mention.native_id == "c1" and h.producer.keys(TOPICS.scored) == [mention(1).partition_key]
    assert [(d.offset, d.stage) for d in h.dead()] == [(1, "decode"), (2, "score")]
    assert h.producer.keys(TOPICS.dead_letters) == [b"fw.mentions.raw:0:1", b"fw.mentions.raw:0:2"]
    assert (h.count(Metric.RECEIVED), h.count(Metric.INVALID), h.count(Metric.SCORED)) == (3, 2, 1)
    assert (h.count(Metric.COMPLAINTS), h.count(Metric.DEAD_LETTERS)) == (1, 2)
    assert h.stopped == []


def test_scored_mentions_keep_the_raw_publish_time() -> None:
    """Publish-to-indexed latency starts when the collector published, not when scoring did."""
    h = Harness()
    asyncio.run(score_agent(h)(batch(mention(1), mention(2))))
    assert h.producer.timestamps[TOPICS.scored] == [1_700_000_000.0, 1_700_000_000.0]
    assert h.producer.timestamps[TOPICS.dead_letters] == []


def test_the_dead_letter_limit_stops_the_worker_on_purpose() -> None:
    h = Harness(DlqLimit(max_invalid_ratio=0.5, window=10, min_messages=4, max_consecutive=100))
    asyncio.run(score_agent(h)(batch(b"x", b"y", mention(1), b"z")))
    (stop,) = h.stopped
    assert isinstance(stop, TooManyInvalid) and "3 of the last 4 messages were invalid" in str(stop)
    assert len(h.dead()) == 3  # dead-lettered all the same


class Buggy(ScoreStep):
    """A step with a bug that one message triggers."""

    def run(self, batch: Sequence[Incoming]) -> Any:
        if any(m.value == b"bug" for m in batch):
            raise KeyError("a bug")
        return super().run(batch)


def test_a_step_that_raises_is_retried_per_message_and_the_culprit_dead_lettered() -> None:
    h = Harness()
    agent = ScoreAgent(h.context, Buggy(FixedScorer()))
    asyncio.run(agent(batch(mention(1), b"bug", mention(2))))
    assert [s.mention.native_id for s in h.producer.records(TOPICS.scored, ScoredMention)] == ["c1", "c2"]
    (letter,) = h.dead()
    assert (letter.offset, letter.stage, letter.reason) == (
        1,
        "score",
        "the score step failed: KeyError: 'a bug'",
    )


class Cancelled(ScoreStep):
    def run(self, batch: Sequence[Incoming]) -> Any:
        raise asyncio.CancelledError


def test_cancellation_is_not_a_dead_letter() -> None:
    h = Harness()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(ScoreAgent(h.context, Cancelled(FixedScorer()))(batch(mention(1))))
    assert h.producer.sent == {}


def test_a_broker_that_refuses_stops_the_agent_loudly() -> None:
    h = Harness()
    h.producer.down = True
    with pytest.raises(BrokerDown):
        asyncio.run(score_agent(h)(batch(mention(1))))


def test_the_index_agent_counts_what_was_acknowledged_and_dead_letters_rejections() -> None:
    h = Harness()
    search = FakeSearch(reject={"facebook:c2": "bad"})
    agent = IndexAgent(h.context, IndexStep(indexer(search)))
    values = [scored(mention(1)), scored(mention(2)), b"{}"]
    asyncio.run(agent(batch(*values, topic=TOPICS.scored)))
    assert (h.count(Metric.INDEXED), h.count(Metric.INDEX_REJECTED), h.count(Metric.THREADS_UPDATED)) == (
        1,
        1,
        1,
    )
    assert [(d.offset, d.stage, d.topic) for d in h.dead()] == [
        (2, "index", TOPICS.scored),
        (1, "index", TOPICS.scored),
    ]


def test_the_detect_agent_publishes_flare_signals_keyed_by_brand_and_counts() -> None:
    h = Harness()
    calls = Calls()
    step = DetectStep(DetectRules(lateness_seconds=0), lambda s: FakeSeries(s, calls), {}, {}, {})
    agent = DetectAgent(h.context, step)
    minutes = [0] + [5] * 6 + [10, 3]  # six complaints in the second bucket, then a late one
    messages = batch(*[scored(mention(n, minutes=m)) for n, m in enumerate(minutes)], topic=TOPICS.scored)
    for message in [*messages, messages[0]]:  # and the first one again
        asyncio.run(agent([message]))
    sent = h.producer.records(TOPICS.flares, FlareSignal)
    assert [(s.brand, s.category, s.kind, s.mentions) for s in sent] == [
        ("zakupowo", None, "started", 6),
        ("zakupowo", "payment", "started", 6),
    ]
    assert h.producer.keys(TOPICS.flares) == [b"zakupowo"] * 2
    assert (h.count(Metric.DETECTOR_EVENTS), h.count(Metric.DETECTOR_LATE)) == (8, 1)
    assert h.count(Metric.DETECTOR_REDELIVERIES) == 1
    assert h.counters.tallies(Tally.FLARE_SIGNALS) == {("started",): 2}

"""Properties of the worker's pure steps: every message ends as exactly one record or one dead letter."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contracts.codec import decode, encode
from streams.contracts.incidents import FlareSignal
from streams.contracts.limits import MAX_DEAD_LETTER_BYTES, MAX_KEPT_BYTES
from streams.contracts.records import DeadLetter, RawMention, ScoredMention
from streams.worker.messages import Incoming
from streams.worker.steps.detect import DetectRules, DetectStep, detector_key
from streams.worker.steps.detector_state import BucketCounts
from streams.worker.steps.index import IndexStep
from streams.worker.steps.score import ScoreStep
from tests.fakes.detection import Calls, FakeSeries
from tests.fakes.scoring import FixedScorer
from tests.fakes.search import FakeSearch, indexer
from tests.strategies import (
    BRANDS,
    TOPICS,
    batches,
    counted,
    raw_messages,
    readable,
    scored_payloads,
)

RULES = DetectRules(bucket_seconds=600, lateness_seconds=1200, measure="negative", catch_up_seconds=6 * 3600)
"""Mentions dated decades apart: only six hours of buckets fed one by one."""


def assert_keeps_the_original(letter: DeadLetter, message: Incoming) -> None:
    """The letter keeps the message's bytes, key and position, and says why in one readable line."""
    value = message.value or b""
    assert base64.b64decode(letter.value_b64) == value[:MAX_KEPT_BYTES]
    assert (letter.value_size, letter.value_truncated) == (len(value), len(value) > MAX_KEPT_BYTES)
    key = base64.b64decode(letter.key_b64) if letter.key_b64 is not None else None
    assert (letter.topic, letter.partition, letter.offset, key) == (
        message.topic,
        message.partition,
        message.offset,
        message.key,
    )
    assert readable(letter.reason), letter.reason[:300]
    assert decode(DeadLetter, encode(letter), max_bytes=MAX_DEAD_LETTER_BYTES) == letter


@settings(max_examples=600)
@given(batches(raw_messages, TOPICS.raw))
@counted
def test_score_step_turns_every_message_into_a_scored_mention_or_a_dead_letter(batch: list[Incoming]) -> None:
    out = ScoreStep(FixedScorer(), BRANDS).run(batch)
    dead = {message.offset: letter for message, letter in out.dead}
    assert len(dead) == len(out.dead)
    assert len(out.scored) + len(out.dead) == len(batch)
    assert len(out.valid) == len(batch)
    survivors = [m for m in batch if m.offset not in dead]
    assert len(survivors) == len(out.scored)
    for message, scored in zip(survivors, out.scored, strict=True):
        assert decode(RawMention, message.value) == scored.mention
        assert scored.mention.brand in BRANDS
        assert decode(ScoredMention, encode(scored)) == scored
    for message, valid in zip(batch, out.valid, strict=True):
        letter = dead.get(message.offset)
        if letter is None:
            assert valid
            continue
        assert_keeps_the_original(letter, message)
        assert letter.stage == ("score" if valid else "decode")
        if valid:  # decoded, then the fixed scorer raised: only for a text with BOOM
            mention = decode(RawMention, message.value)
            assert isinstance(mention, RawMention) and "boom" in mention.text.lower()


def detector_input(message: Incoming) -> ScoredMention | None:
    """The scored mention in ``message`` when the detector takes it (a customer's)."""
    scored = decode(ScoredMention, message.value)
    return scored if isinstance(scored, ScoredMention) and not scored.mention.from_brand else None


@settings(max_examples=400)
@given(batches(scored_payloads, TOPICS.scored, max_size=20))
@counted
def test_detect_step_counts_every_customer_mention_once_or_dead_letters_it(batch: list[Incoming]) -> None:
    buckets: dict[str, Any] = {}
    progress: dict[str, Any] = {}
    series: dict[str, Any] = {}
    step = DetectStep(RULES, lambda s: FakeSeries(s, Calls(), threshold=1), buckets, progress, series)
    out = step.run(batch)
    again = step.run(batch)  # redelivered: nothing counted twice
    inputs = {m.offset: detector_input(m) for m in batch}
    customers = sum(s is not None for s in inputs.values())
    assert len(out.valid) == len(batch)
    assert out.counted + out.late + len(out.dead) == customers
    assert again.redelivered == out.counted + out.late and again.counted == 0
    for message, letter in out.dead:
        assert inputs[message.offset] is not None
        assert letter.stage == "detect"
        assert_keeps_the_original(letter, message)
    for message, valid in zip(batch, out.valid, strict=True):
        scored = inputs[message.offset]
        assert valid == all(m is not message for m, _ in out.dead)
        if scored is not None:
            assert detector_key(message.value) == scored.mention.brand.encode()
    brands = {s.mention.brand for s in inputs.values() if s is not None}
    for signal in out.signals:
        assert signal.brand in brands
        assert decode(FlareSignal, encode(signal)) == signal
    assert out.errors == []
    open_counts = [BucketCounts.from_json(b) for b in buckets.values()]
    fed = sum(int(r["detector"]["last"] is not None) for r in series.values())
    assert sum(c.mentions for c in open_counts) <= out.counted and fed <= len(series)
    assert {k.split("|")[0] for k in buckets} <= brands
    for table in (buckets, progress, series):
        assert json.loads(json.dumps(table)) == table


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for every generated case (a new one per case costs more than the case)."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def faulty_search(data: st.DataObject, ids: set[str]) -> FakeSearch:
    """A search server that rejects some of ``ids`` for good, fails requests naming others, and is
    unreachable for a few requests first."""
    some = st.sets(st.sampled_from(sorted(ids)), max_size=3) if ids else st.just(set[str]())
    return FakeSearch(
        reject={i: "failed to parse field [message]" for i in data.draw(some)},
        fail=data.draw(some),
        outages=data.draw(st.integers(0, 2)),
    )


@settings(max_examples=300)
@given(batches(scored_payloads, TOPICS.scored, max_size=16), st.data())
@counted
def test_index_step_indexes_every_message_or_dead_letters_it(
    loop: asyncio.AbstractEventLoop, batch: list[Incoming], data: st.DataObject
) -> None:
    decoded = {m.offset: decode(ScoredMention, m.value) for m in batch}
    records = [s for s in decoded.values() if isinstance(s, ScoredMention)]
    search = faulty_search(
        data, {s.mention.mention_id for s in records} | {s.mention.thread_key for s in records}
    )
    out = loop.run_until_complete(IndexStep(indexer(search)).run(batch))
    indexed = {message.offset: scored for message, scored in out.indexed}
    dead = {message.offset: letter for message, letter in out.dead}
    assert len(indexed) == len(out.indexed) and len(dead) == len(out.dead)
    assert {s.mention.mention_id for s in indexed.values()} <= search.ids("flarewatch-mentions")
    for message, valid in zip(batch, out.valid, strict=True):
        letter = dead.get(message.offset)
        assert valid == (letter is None)
        if message.offset in indexed:  # and its thread too, or a dead letter says it is not
            scored = indexed[message.offset]
            assert scored == decoded[message.offset]
            assert letter is None or letter.stage == "threads"
            if scored.mention.thread_key in search.reject.keys() | search.fail:
                assert letter is not None
        else:
            assert letter is not None and letter.stage == "index"
            record = decoded[message.offset]
            if isinstance(record, ScoredMention):  # only a fault on purpose turns a mention away
                assert record.mention.mention_id in search.reject.keys() | search.fail
        if letter is not None:
            assert_keeps_the_original(letter, message)

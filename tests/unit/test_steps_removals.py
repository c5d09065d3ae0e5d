"""The removals step over the real indexer and a fake search server: recorded, looked up, or
dead-lettered with the reason."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from streams.search.layout import Layout
from streams.worker.steps.removals import RemovalsStep
from tests.factories import T0, mention, scored
from tests.fakes.messages import batch
from tests.fakes.search import FakeSearch, indexer
from tests.integration.test_removals_search import removal


def test_recorded_looked_up_or_dead_lettered() -> None:
    search, layout = FakeSearch(), Layout("fw")
    writer = indexer(search, layout)
    assert asyncio.run(writer.mentions([scored(mention(1))])) == []
    step = RemovalsStep(writer)
    messages = batch(
        removal(1),  # indexed: looked up by id
        removal(2, created_at=T0 + timedelta(days=40)),  # placed by its time, not indexed yet
        removal(3),  # nowhere
        b'{"mention_id": "facebook:c4"}',  # not a removal
        topic="fw.mentions.removed",
    )
    out = asyncio.run(step.run(messages))
    assert out.recorded == 2 and out.valid == [True, True, False, False]
    reasons = {message.offset: letter.reason for message, letter in out.dead}
    assert reasons[2] == "rejected by Elasticsearch (404): the removed mention is in no mention index"
    assert "removed_at: Field required" in reasons[3]
    assert all(letter.stage == "removals" for _, letter in out.dead)
    stored = search.source(layout.mention_index(T0), "facebook:c1")
    assert stored is not None and stored["flarewatch"]["removal"]["removed_by"] == "page"
    assert stored["message"] == "tekst 1"
    placeholder = search.source(layout.mention_index(T0 + timedelta(days=40)), "facebook:c2")
    assert placeholder is not None and placeholder["flarewatch"]["brand"] == "zakupowo"

"""The index step over the real indexer and bulk writer and an in-memory search server."""

from __future__ import annotations

import asyncio

from streams.search.layout import Layout
from streams.worker.steps.index import IndexOutput, IndexStep
from tests.factories import mention, scored
from tests.fakes.messages import DEEP, batch
from tests.fakes.search import FakeSearch, indexer

SCORED = "fw.mentions.scored"
LAYOUT = Layout()
THREAD = "zakupowo:facebook:post1"
OTHER_THREAD = "zakupowo:facebook:post2"


def run(search: FakeSearch, *values: object) -> IndexOutput:
    step = IndexStep(indexer(search, LAYOUT), max_bytes=len(DEEP))
    return asyncio.run(step.run(batch(*values, topic=SCORED)))  # type: ignore[arg-type]


def mentions() -> list[object]:
    return [scored(mention(1)), scored(mention(2, thread_id="post2")), scored(mention(3))]


def test_mentions_and_their_threads_are_written() -> None:
    search = FakeSearch()
    out = run(search, *mentions())
    assert [s.mention.native_id for _, s in out.indexed] == ["c1", "c2", "c3"]
    assert (out.threads, out.rejected, out.dead, out.valid) == (2, 0, [], [True, True, True])
    assert search.ids(LAYOUT.mentions) == {"facebook:c1", "facebook:c2", "facebook:c3"}
    thread = search.source(LAYOUT.threads, THREAD)
    assert thread is not None and thread["flarewatch"]["thread"]["mentions"] == 2


def test_undecodable_messages_are_dead_lettered_and_the_rest_indexed() -> None:
    search = FakeSearch()
    out = run(search, DEEP, scored(mention(1)), b"[]")
    assert [(m.offset, d.stage) for m, d in out.dead] == [(0, "index"), (2, "index")]
    assert out.dead[0][1].reason == "JSON nested too deeply (more than 32 levels)"
    assert out.dead[1][1].reason == "expected a JSON object"
    assert out.valid == [False, True, False]
    assert search.ids(LAYOUT.mentions) == {"facebook:c1"}


def test_a_rejected_mention_is_dead_lettered_and_left_out_of_its_thread() -> None:
    search = FakeSearch(reject={"facebook:c1": "failed to parse field [message]"})
    out = run(search, *mentions())
    ((message, letter),) = out.dead
    assert (message.offset, letter.stage, letter.topic) == (0, "index", SCORED)
    assert (
        letter.reason
        == "rejected by Elasticsearch (400): mapper_parsing_exception: failed to parse field [message]"
    )
    assert [s.mention.native_id for _, s in out.indexed] == ["c2", "c3"]
    assert out.rejected == 1
    thread = search.source(LAYOUT.threads, THREAD)
    assert thread is not None and thread["flarewatch"]["thread"]["mentions"] == 1


def test_a_rejected_thread_document_dead_letters_its_mentions_only() -> None:
    search = FakeSearch(reject={THREAD: "mapping conflict"})
    out = run(search, *mentions())
    assert [(m.offset, d.stage) for m, d in out.dead] == [(0, "threads"), (2, "threads")]
    assert out.dead[0][1].reason == (
        f"thread {THREAD}: rejected by Elasticsearch (400): mapper_parsing_exception: mapping conflict"
    )
    assert len(out.indexed) == 3  # the mentions themselves were indexed
    assert (out.threads, out.rejected, out.valid) == (1, 1, [False, True, False])
    assert search.source(LAYOUT.threads, OTHER_THREAD) is not None


def test_a_batch_that_raises_is_written_one_by_one_and_only_the_culprit_dead_lettered() -> None:
    search = FakeSearch(fail={"facebook:c2"})
    out = run(search, *mentions())
    ((message, letter),) = out.dead
    assert (message.offset, letter.stage) == (1, "index")
    assert letter.reason == "indexing failed: SearchFailure: request failed for ['facebook:c2']"
    assert search.ids(LAYOUT.mentions) == {"facebook:c1", "facebook:c3"}
    assert [kind for kind, _ in search.requests].count("bulk") >= 4  # the batch, then each alone


def test_a_thread_merge_that_raises_dead_letters_that_thread_only() -> None:
    search = FakeSearch(fail={OTHER_THREAD})
    out = run(search, *mentions())
    ((message, letter),) = out.dead
    assert (message.offset, letter.stage) == (1, "threads")
    assert letter.reason.startswith(f"thread {OTHER_THREAD}: merging the thread failed: SearchFailure")
    thread = search.source(LAYOUT.threads, THREAD)
    assert thread is not None and thread["flarewatch"]["thread"]["mentions"] == 2


def test_outages_and_throttling_are_waited_out_not_dead_lettered() -> None:
    search = FakeSearch(outages=3)
    search.throttle.update({"facebook:c1": 2, THREAD: 2})
    out = run(search, *mentions())
    assert out.dead == [] and len(out.indexed) == 3 and out.threads == 2
    assert search.ids(LAYOUT.mentions) == {"facebook:c1", "facebook:c2", "facebook:c3"}


def test_a_replayed_batch_changes_nothing() -> None:
    search = FakeSearch()
    run(search, *mentions())
    before = search.source(LAYOUT.threads, THREAD)
    out = run(search, *mentions())
    assert out.dead == [] and search.source(LAYOUT.threads, THREAD) == before

"""`flarewatch deadletters` against the real broker and worker: bad messages listed with their
reasons, and a mention dead-lettered for a brand not yet configured indexed exactly once after the
brand is added and the letter replayed."""

from __future__ import annotations

import signal
from datetime import UTC, datetime

import pytest

from streams.cli.main import main
from streams.config.brands import BrandSettings
from streams.contracts.records import RawMention
from streams.search.client import layout
from tests.integration.conftest import Harness, wait_for
from tests.integration.test_pipeline import index_count, indexed_ids

pytestmark = pytest.mark.integration


def raw(native_id: str, brand: str = "zakupowo", **fields: object) -> RawMention:
    return RawMention.model_validate(
        {
            "platform": "x",
            "native_id": native_id,
            "brand": brand,
            "author": {"id": f"u-{native_id}"},
            "text": "Paczka nie dotarła, a pieniądze zeszły z konta",
            "created_at": "2026-11-19T12:00:00Z",
            **fields,
        }
    )


def flarewatch(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out, err = capsys.readouterr()
    assert exit_.value.code in (0, None), err
    return out


def test_list_then_replay_after_the_fix_indexes_once(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    started = datetime.now(UTC)
    acme = raw("a1", brand="acme", thread_id="acme-post")
    good = [raw("g1"), raw("g2")]
    worker = harness.start_worker()
    harness.produce(
        [
            (b"k-json", b'{"platform": "x", "text": "cut'),
            (b"k-type", raw("t1").model_dump_json().replace('"x"', "42", 1).encode()),
            (acme.partition_key, acme.model_dump_json().encode()),
        ]
    )
    harness.produce_mentions(good)
    wait_for(lambda: index_count(harness) >= len(good), 240, "the valid mentions indexed", worker)
    assert len(harness.dead_letters(3)) == 3
    folder = ["--data-dir", str(harness.folder)]
    raw_topic = harness.topics.raw

    listed = flarewatch(["deadletters", *folder, "--since", started.isoformat()], capsys)
    assert listed.startswith("3 of 3 dead letters match (times in UTC):")
    assert "reason:  invalid JSON" in listed and 'preview: {"platform": "x", "text": "cut' in listed
    assert "reason:  unknown brand 'acme'" in listed and f" decode    {raw_topic}:" in listed
    only = flarewatch(["deadletters", *folder, "--reason", "UNKNOWN BRAND"], capsys)
    assert only.count(raw_topic) == 1 and '"native_id":"a1"' in only
    assert "no dead letters match" in flarewatch(["deadletters", *folder, "--since", "0m"], capsys)
    newest = flarewatch(["deadletters", *folder, "--limit", "1"], capsys)
    assert newest.startswith("3 of 3 dead letters match; the newest 1") and newest.count(raw_topic) == 1

    worker.process.send_signal(signal.SIGTERM)
    worker.process.wait(60)
    brands = (*harness.settings.brands, BrandSettings(name="acme", terms=("acme",)))
    harness.settings = harness.settings.model_copy(update={"brands": brands})
    worker = harness.start_worker()

    dry = flarewatch(["deadletters", "replay", *folder, "--reason", "unknown brand", "--dry-run"], capsys)
    assert dry.count("would re-publish") == 2 and f"would re-publish 1 to {raw_topic}" in dry
    for _ in range(2):  # a second replay must change nothing
        sent = flarewatch(["deadletters", "replay", *folder, "--reason", "unknown brand"], capsys)
        assert sent.strip() == f"re-published 1 to {raw_topic}"
    # same thread, same partition: indexed after both replays were handled
    harness.produce_mentions([raw("a2", brand="acme", thread_id="acme-post")])
    wait_for(lambda: index_count(harness) >= 4, 240, "the replayed mention indexed", worker)
    ids = indexed_ids(harness)
    assert ids == {m.mention_id: 1 for m in [*good, acme, raw("a2")]}
    es = harness.search()
    thread = es.get(index=layout(harness.settings.elasticsearch).threads, id=acme.thread_key)
    assert thread["_source"]["flarewatch"]["thread"]["mentions"] == 2

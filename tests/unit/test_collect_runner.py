"""The collector runner: filters, publishing, checkpoints after acknowledgement, recovery of a
batch in flight at a crash, sources that stop, and JSON Lines output."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.collectors.checkpoints import CheckpointError, CheckpointStore, InFlight, SourceState
from streams.collectors.filters import MentionFilter
from streams.collectors.metrics import CollectorMetrics
from streams.collectors.publish import FilePublisher, PublishError
from streams.collectors.runner import Collector
from streams.collectors.source import Batch, Checkpoint, Removal, SourceContext, SourceStopped
from streams.config.brands import BrandSettings
from streams.contracts.records import RawMention, Source
from tests.factories import mention

BRANDS = [BrandSettings(name="zakupowo", rule="zakupowo AND NOT giveaway*", exclude_authors=("bot",))]


class Broker:
    """A publisher that keeps what it was sent; fails the n-th send when told."""

    durable = True

    def __init__(self) -> None:
        self.sent: list[RawMention] = []
        self.removals: list[Removal] = []
        self.fail_on: int | None = None
        self.sends = 0

    def send(self, mentions: Sequence[RawMention]) -> None:
        self.sends += 1
        if self.fail_on == self.sends:
            raise PublishError("the broker did not acknowledge a send: KafkaTimeoutError")
        self.sent.extend(mentions)

    def send_removals(self, removals: Sequence[Removal]) -> None:
        self.removals.extend(removals)

    def end_offsets(self) -> dict[int, int]:
        return {0: len(self.sent)}

    def published_ids(self, since: Mapping[int, int]) -> set[str]:
        return {m.mention_id for m in self.sent[since.get(0, 0) :]}

    def close(self) -> None:
        pass


class Pages:
    """A source of numbered pages: the checkpoint is the next page's number."""

    name = "fake-zakupowo"
    family = "pages"
    brand = "zakupowo"

    def __init__(self, pages: list[list[RawMention]]) -> None:
        self.pages = pages
        self.started_from: list[Checkpoint | None] = []

    def poll(self, checkpoint: Checkpoint | None, context: SourceContext) -> Iterator[Batch]:
        self.started_from.append(checkpoint)
        start = int(checkpoint["page"]) if checkpoint else 0
        for number in range(start, len(self.pages)):
            context.stats.fetched(len(self.pages[number]))
            yield Batch(tuple(self.pages[number]), {"page": number + 1})


def search(n: int, text: str, **fields: Any) -> RawMention:
    return mention(n, text=text, source=Source.SEARCH, **fields)


def pages() -> list[list[RawMention]]:
    return [
        [mention(1, text="zakupowo nie działa"), search(2, "ZAKUPOWO znowu"), search(3, "coś innego")],
        [search(4, "zakupowo giveaway!"), mention(5, text="giveaway zakupowo on our page")],
        [search(6, "zakupowo", author={"id": "b1", "name": "@BOT"}), search(7, "Zakupowo: paczka")],
    ]


def collector(tmp_path: Path, broker: Broker, **kwargs: Any) -> Collector:
    return Collector(broker, CheckpointStore(tmp_path), MentionFilter(BRANDS), CollectorMetrics(), **kwargs)


def test_rules_drop_public_mentions_and_count_why_but_never_what_is_addressed(tmp_path: Path) -> None:
    broker = Broker()
    c = collector(tmp_path, broker)
    report = c.poll(Pages(pages()))
    assert [m.native_id for m in broker.sent] == ["c1", "c2", "c5", "c7"]
    assert dict(report.filtered) == {"rule": 2, "author": 1}
    assert (report.fetched, report.published) == (7, 4)
    value = c.metrics.registry.get_sample_value
    assert value("flarewatch_collector_filtered_total", {"source": "fake-zakupowo", "reason": "rule"}) == 2
    assert value("flarewatch_collector_published_total", {"source": "fake-zakupowo"}) == 4


def test_the_checkpoint_moves_only_after_the_broker_acknowledged(tmp_path: Path) -> None:
    broker = Broker()
    broker.fail_on = 2
    source = Pages(pages())
    with pytest.raises(PublishError):
        collector(tmp_path, broker).poll(source)
    store = CheckpointStore(tmp_path)
    state = store.load(source.name)
    assert state.checkpoint == {"page": 1}  # page 0 acknowledged, page 1 not
    assert state.in_flight is not None and state.in_flight.checkpoint == {"page": 2}
    broker.fail_on = None
    collector(tmp_path, broker).poll(source)
    assert [m.native_id for m in broker.sent] == ["c1", "c2", "c5", "c7"]
    assert store.load(source.name) == SourceState({"page": 3})


def test_a_batch_in_flight_at_a_crash_is_completed_without_duplicates(tmp_path: Path) -> None:
    """Killed after the broker took part of a batch, before the checkpoint moved."""
    store = CheckpointStore(tmp_path)
    first, second = mention(1, text="zakupowo a"), mention(2, text="zakupowo b")
    broker = Broker()
    broker.sent.append(first)  # arrived before the crash
    store.save("fake-zakupowo", SourceState({"page": 0}, InFlight({"page": 1}, (first, second), {0: 0})))
    source = Pages([[first, second], [mention(3, text="zakupowo c")]])
    report = collector(tmp_path, broker).poll(source)
    assert [m.native_id for m in broker.sent] == ["c1", "c2", "c3"]
    assert source.started_from == [{"page": 1}]
    assert report.recovered == 1


def test_removals_are_published_and_counted(tmp_path: Path) -> None:
    gone = Removal("facebook:c9", "zakupowo", datetime(2026, 12, 1, tzinfo=UTC), "page", hidden=True)

    class WithRemoval(Pages):
        def poll(self, checkpoint: Checkpoint | None, context: SourceContext) -> Iterator[Batch]:
            yield Batch((), {"page": 1}, (gone,))

    broker = Broker()
    report = collector(tmp_path, broker).poll(WithRemoval([]))
    assert broker.removals == [gone] and report.removals == 1
    assert CheckpointStore(tmp_path).load("fake-zakupowo").checkpoint == {"page": 1}


def test_a_stopped_source_stops_alone_and_the_exit_code_says_so(tmp_path: Path) -> None:
    class Expired(Pages):
        name = "expired"

        def poll(self, checkpoint: Checkpoint | None, context: SourceContext) -> Iterator[Batch]:
            raise SourceStopped("facebook-zakupowo: page token rejected (code 190): renew it")
            yield  # pragma: no cover

    stop = threading.Event()
    c = collector(tmp_path, Broker(), stop=stop)
    reports: list[Any] = []

    def on_report(report: Any) -> None:
        reports.append(report)
        if sum(r.source == "fake-zakupowo" for r in reports) == 3:
            stop.set()  # the healthy source kept polling after the other stopped

    code = c.run([Expired([]), Pages(pages())], once=False, interval_s=0.01, on_report=on_report)
    assert code == 1
    stopped = [r for r in reports if r.source == "expired"]
    assert len(stopped) == 1 and stopped[0].stopped
    assert "STOPPED: facebook-zakupowo: page token rejected (code 190)" in stopped[0].line()
    assert c.metrics.registry.get_sample_value("flarewatch_collector_stopped", {"source": "expired"}) == 1


def test_a_long_running_collector_polls_again_and_stops_on_request(tmp_path: Path) -> None:
    stop = threading.Event()
    broker = Broker()
    source = Pages(pages())
    polls: list[int] = []

    def on_report(report: Any) -> None:
        polls.append(report.published)
        if len(polls) == 3:
            stop.set()

    code = collector(tmp_path, broker, stop=stop).run(
        [source], once=False, interval_s=0.01, on_report=on_report
    )
    assert code == 0 and polls == [4, 0, 0]
    assert source.started_from == [None, {"page": 3}, {"page": 3}]


def test_a_damaged_checkpoint_stops_the_source_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "fake-zakupowo.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"fake-zakupowo\.json is damaged"):
        collector(tmp_path, Broker()).poll(Pages(pages()))


def test_output_file_gets_json_lines_and_no_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    publisher = FilePublisher(out)
    c = Collector(publisher, CheckpointStore(tmp_path / "state"), MentionFilter(BRANDS))
    c.poll(Pages(pages()))
    c.poll(Pages(pages()))
    publisher.close()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["native_id"] for d in lines] == ["c1", "c2", "c5", "c7"] * 2
    assert RawMention.model_validate(lines[0]).mention_id == "facebook:c1"
    assert not (tmp_path / "state").exists()

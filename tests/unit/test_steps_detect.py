"""The detect step: scored mentions in, brand x bucket records in plain dicts, flare signals out
when buckets close (over a fake series detector whose rules are obvious: >= 5 flares)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from streams.contracts.codec import decode, encode
from streams.contracts.incidents import FlareSignal, SignalKind
from streams.contracts.records import Author, ScoredMention
from streams.worker.steps.detect import DetectOutput, DetectRules, DetectStep, detector_key
from streams.worker.steps.detector_state import BucketCounts, reach_weight
from tests.factories import T0, mention, scored
from tests.fakes.detection import Calls, FakeSeries
from tests.fakes.messages import DEEP, incoming

SCORED = "detect-fw.mentions.scored-brand-repartition"
RULES = DetectRules(bucket_seconds=300, lateness_seconds=600, measure="complaints")
B0 = int(T0.timestamp())
"""The first bucket (T0 is on a 5-minute boundary)."""


class Recording(dict[str, Any]):
    """A dict that remembers which keys were written or deleted."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append(key)
        super().__setitem__(key, json.loads(json.dumps(value)))  # as a changelog would carry it

    def __delitem__(self, key: str) -> None:
        self.writes.append(f"-{key}")
        super().__delitem__(key)


class Harness:
    def __init__(self, rules: DetectRules = RULES) -> None:
        self.calls = Calls()
        self.buckets, self.progress, self.series = Recording(), Recording(), Recording()
        self.step = DetectStep(
            rules, lambda s: FakeSeries(s, self.calls), self.buckets, self.progress, self.series
        )
        self.offset = 0

    def run(self, values: Iterable[ScoredMention | bytes], partition: int = 0) -> DetectOutput:
        messages = []
        for value in values:
            messages.append(incoming(value, self.offset, SCORED, partition))
            self.offset += 1
        return self.step.run(messages)

    def fed(self, brand: str, series: str = "all") -> list[tuple[int, float | None]]:
        return self.calls.of(self.series[f"{brand}|{series}"]["detector"]["id"])

    def clear(self) -> None:
        for table in (self.buckets, self.progress, self.series):
            table.writes.clear()


def complaint(
    n: int, minutes: float, brand: str = "zakupowo", category: str = "payment", **kw: Any
) -> ScoredMention:
    return scored(mention(n, minutes=minutes, brand=brand, **kw), category=category)


def burst(first: int, count: int, minutes: float, brand: str = "zakupowo", **kw: Any) -> list[ScoredMention]:
    return [complaint(first + i, minutes, brand, **kw) for i in range(count)]


def test_one_event_touches_one_small_bucket_record_and_the_progress_record() -> None:
    h = Harness()
    h.run([complaint(1, 0)])
    assert sorted(h.buckets) == [f"zakupowo|{B0}"]
    assert sorted(h.progress) == ["0", "0|brands"]  # the brand record: written once, on first sight
    h.clear()
    out = h.run([complaint(2, 1), scored(mention(3, minutes=2), sentiment="neutral", complaint=False)])
    assert h.buckets.writes == [f"zakupowo|{B0}"] * 2 and h.progress.writes == ["0", "0"]
    assert h.series.writes == []
    assert (out.counted, out.late, out.redelivered, out.dead, out.valid) == (2, 0, 0, [], [True, True])
    counts = BucketCounts.from_json(h.buckets[f"zakupowo|{B0}"])
    assert (counts.mentions, counts.complaints, counts.counted, counts.categories) == (
        3,
        2,
        2,
        {"payment": 2},
    )
    assert h.progress["0"] == {"offset": 2, "max_time": B0 + 120.0, "closed": B0 - 600}


def test_a_redelivered_message_is_skipped_by_its_offset() -> None:
    h = Harness()
    messages = [incoming(complaint(n, 0), n, SCORED) for n in range(3)]
    h.step.run(messages)
    before = dict(h.buckets)
    out = h.step.run(messages[1:])  # the tail of a batch, again, after a restart
    assert (out.redelivered, out.counted, out.valid) == (2, 0, [True, True])
    assert h.buckets == before


def test_a_mention_whose_bucket_has_closed_is_late_and_not_applied() -> None:
    h = Harness()
    h.run([complaint(1, 0), complaint(2, 20)])  # watermark 10 min: the first bucket closed
    assert f"zakupowo|{B0}" not in h.buckets
    out = h.run([complaint(3, 4), complaint(4, 12)])  # 12 min: its bucket is still open
    assert (out.late, out.counted) == (1, 1)
    assert BucketCounts.from_json(h.buckets[f"zakupowo|{B0 + 600}"]).counted == 1
    assert f"zakupowo|{B0}" not in h.buckets


def test_closed_buckets_feed_the_detector_in_order_and_are_deleted() -> None:
    h = Harness()
    h.run([*burst(0, 2, 0), *burst(10, 3, 11), complaint(20, 6), complaint(21, 40)])
    # watermark 40 - 10 = 30 min: buckets 0..25 closed, in order, whatever the arrival order
    assert h.fed("zakupowo") == [(B0 + 300 * i, v) for i, v in enumerate([2, 1, 3, None, None, None])]
    assert [k for k in h.buckets] == [f"zakupowo|{B0 + 2400}"]
    assert h.fed("zakupowo", "payment") == h.fed("zakupowo")


def test_a_bucket_without_any_mention_is_a_gap_for_a_busy_brand_and_zero_for_a_quiet_one() -> None:
    h = Harness()
    busy = [complaint(i, m, "busy") for i, m in enumerate([0] * 30 + [5] * 30)]
    quiet = [complaint(100, 0, "quiet")]
    h.run([*busy, *quiet, complaint(200, 35, "busy")])
    assert h.fed("busy")[:3] == [(B0, 30), (B0 + 300, 30), (B0 + 600, None)]
    assert h.fed("quiet")[:3] == [(B0, 1), (B0 + 300, 0), (B0 + 600, 0)]


def test_a_watermark_jump_feeds_the_stored_buckets_and_the_last_stretch_only() -> None:
    h = Harness(DetectRules(bucket_seconds=300, lateness_seconds=0, catch_up_seconds=900))
    h.run([complaint(1, -365 * 24 * 60, "old"), complaint(2, -364 * 24 * 60, "old"), complaint(3, 0, "old")])
    day = 24 * 3600
    stretch = [(-900, 0), (-600, 0), (-300, 0)]  # a quiet brand: zeros
    assert h.fed("old") == [
        (B0 - 365 * day, 1),
        *[(B0 - 364 * day + b, v) for b, v in stretch],
        (B0 - 364 * day, 1),
        *[(B0 + b, v) for b, v in stretch],
    ]
    assert list(h.buckets) == [f"old|{B0}"]


def test_a_bucket_with_mentions_but_none_counted_is_a_zero() -> None:
    h = Harness()
    h.run([*burst(0, 8, 0), scored(mention(50, minutes=5), sentiment="positive", complaint=False)])
    h.run([complaint(60, 30)])
    assert h.fed("zakupowo")[:3] == [(B0, 8), (B0 + 300, 0), (B0 + 600, None)]


def signals(out: DetectOutput) -> list[tuple[str | None, SignalKind, int, str | None]]:
    return [(s.category, s.kind, int(s.bucket_start.timestamp()) - B0, s.severity) for s in out.signals]


def test_flare_signals_start_grow_escalate_and_end() -> None:
    h, out = Harness(), DetectOutput()
    for minute, count in [(0, 1), (5, 6), (10, 7), (15, 12), (20, 12), (25, 2), (30, 0), (35, 0), (60, 1)]:
        out.signals += h.run(burst(1000 * minute, count, minute)).signals
    brand_wide = [s for s in signals(out) if s[0] is None]
    assert brand_wide == [
        (None, SignalKind.STARTED, 300, "watch"),
        (None, SignalKind.GROWN, 600, "watch"),
        (None, SignalKind.ESCALATED, 900, "critical"),
        (None, SignalKind.ENDED, 1500, None),
    ]
    assert [s for s in signals(out) if s[0] == "payment"] == [("payment", *s[1:]) for s in brand_wide]
    first = out.signals[0]
    assert first.signal_id == "zakupowo:all:complaints:20261119T1205Z:started"
    assert (first.observed, first.mentions, first.expected, first.flare_started_at) == (
        6.0,
        6,
        1.0,
        first.bucket_start,
    )
    assert first.categories == {"payment": 6} and first.languages == {"pl": 6}
    assert len(first.sample_mention_ids) == 3  # equally reached and negative: 3 ids, each once
    for signal in out.signals:
        assert decode(FlareSignal, encode(signal)) == signal


def test_a_gap_inside_a_flare_neither_ends_nor_regrows_it() -> None:
    h, out = Harness(), DetectOutput()
    for minute, count in [(0, 1), (5, 6), (10, 7), (25, 7)]:  # 15 and 20 hold nothing
        out.signals += h.run(burst(1000 * minute, count, minute)).signals
    h.series["zakupowo|all"] = {**h.series["zakupowo|all"], "volume": 50.0}  # busy: empty is a gap
    for minute, count in [(45, 2), (60, 1)]:
        out.signals += h.run(burst(1000 * minute, count, minute)).signals
    kinds = [kind for category, kind, _, _ in signals(out) if category is None]
    assert kinds == [SignalKind.STARTED, SignalKind.GROWN, SignalKind.ENDED]
    assert (B0 + 900, None) in h.fed("zakupowo")


def test_a_series_whose_stored_state_is_unusable_starts_over() -> None:
    h = Harness()
    fake = h.step.new_series

    def strict(state: dict[str, Any] | None) -> Any:
        if state is not None and state.get("id") == "old":
            raise ValueError("state of another version")
        return fake(state)

    h.step.new_series = strict
    h.run([complaint(1, 0), complaint(2, 20)])
    h.series["zakupowo|all"] = {**h.series["zakupowo|all"], "detector": {"id": "old", "last": B0}}
    out = h.run([complaint(3, 40)])
    assert not out.errors and not out.dead
    restarted = h.series["zakupowo|all"]["detector"]
    assert restarted["id"] != "old" and restarted["last"] == B0 + 1500


def test_a_new_category_gets_its_own_series_from_its_first_bucket() -> None:
    h = Harness()
    h.run([*burst(0, 2, 0), *burst(10, 6, 5, category="delivery"), complaint(20, 30)])
    assert h.fed("zakupowo", "delivery") == [(B0 + 300, 6), (B0 + 600, None), (B0 + 900, None)]
    assert h.series["zakupowo|all"]["categories"] == ["payment", "delivery"]


def test_brands_on_one_partition_close_together_and_partitions_keep_their_own_watermark() -> None:
    h = Harness()
    h.run([complaint(1, 0, "a")], partition=0)
    h.run([complaint(2, 0, "b")], partition=1)
    h.run([complaint(3, 0, "c"), complaint(4, 30, "a")], partition=0)
    assert {k.split("|")[0] for k in h.series if k.endswith("|all")} == {"a", "c"}
    assert h.progress["1|brands"] == {"b": B0} and f"b|{B0}" in h.buckets


def test_reach_weighting_counts_big_accounts_more() -> None:
    h = Harness(DetectRules(bucket_seconds=300, lateness_seconds=0, reach_weighting=True))
    star = complaint(1, 0, author=Author(id="star", followers=500_000))
    h.run([star, complaint(2, 0), complaint(3, 5)])
    (_, value), *_ = h.fed("zakupowo")
    assert value == round(reach_weight(500_000) + reach_weight(120), 3)
    assert 3.6 < reach_weight(500_000) < 3.8 and reach_weight(None) == 1.0


def test_state_records_stay_small_during_a_flare_up() -> None:
    h = Harness()
    h.run([complaint(i, i % 5 / 10, lang=None, author=Author(id=f"u{i}", followers=i)) for i in range(2000)])
    (record,) = h.buckets.values()
    assert len(json.dumps(record)) < 600
    assert BucketCounts.from_json(record).reached[0] == (1999, "facebook:c1999")
    assert len(json.dumps(h.progress["0"])) < 100


def test_only_customers_mentions_count_and_undecodable_ones_are_left_to_the_index_step() -> None:
    h = Harness()
    out = h.run([scored(mention(2, from_brand=True)), DEEP, b"not json"])
    assert (out.counted, out.signals, out.dead, out.valid) == (0, [], [], [True] * 3)
    assert h.buckets == {} and h.progress == {}


def test_a_detection_that_raises_is_dead_lettered_and_other_brands_go_on() -> None:
    h = Harness()
    h.buckets[f"zakupowo|{B0}"] = {"n": "many"}
    out = h.run([complaint(1, 0), complaint(2, 0, "fotomat")])
    ((message, letter),) = out.dead
    assert (message.offset, letter.stage, letter.topic) == (0, "detect", SCORED)
    assert letter.reason.startswith("detection failed: ValueError")
    assert h.buckets[f"zakupowo|{B0}"] == {"n": "many"}  # left as it was
    assert (out.counted, out.valid) == (1, [False, True])


def test_a_brand_whose_close_fails_is_reported_and_the_others_close() -> None:
    h = Harness()
    h.run([complaint(1, 0, "a"), complaint(2, 0, "b")])
    h.series["a|all"] = {"detector": {"last": "x"}, "peak": 0}
    out = h.run([complaint(3, 30, "b")])
    assert len(out.errors) == 1 and out.errors[0].startswith("a: closing buckets failed")
    assert h.fed("b")[0] == (B0, 1) and f"a|{B0}" in h.buckets


def test_the_routing_key_is_the_brand_of_customers_mentions_only() -> None:
    assert detector_key(encode(complaint(1, 0))) == b"zakupowo"
    assert detector_key(encode(scored(mention(1), sentiment="positive", complaint=False))) == b"zakupowo"
    assert detector_key(encode(scored(mention(2, from_brand=True)))) is None
    for bad in [
        DEEP,
        b"",
        None,
        b"\xff",
        b"[]",
        b'{"mention": [], "scores": {}}',
        b'{"mention": {"brand": 7}, "scores": {"sentiment": "negative"}}',
    ]:
        assert detector_key(bad) is None
    lone = b'{"mention": {"brand": "a\\ud800"}, "scores": {"sentiment": "negative"}}'
    assert detector_key(lone) == b"a\\ud800"

"""The detect step: scored mentions in, spike windows in a plain dict, alerts out."""

from __future__ import annotations

from typing import Any

from models.spikes import SpikeRule
from streams.contracts.records import ScoredMention
from streams.worker.steps.detect import DetectStep, detector_key
from tests.factories import mention, scored
from tests.fakes.messages import DEEP, batch

RULE = SpikeRule(window_seconds=3600, baseline_windows=3, min_history=2, z=1.0, min_count=3, min_ratio=1.0)
SCORED = "fw.mentions.scored"


def negative(n: int, hours: float, brand: str = "zakupowo") -> ScoredMention:
    return scored(mention(n, minutes=60 * hours, brand=brand))


def quiet_then_spike(brand: str = "zakupowo", first: int = 0) -> list[ScoredMention]:
    """One complaint an hour for two hours, then five in the third."""
    return [negative(first + n, hours, brand) for n, hours in enumerate([0, 1, 2, 2.1, 2.2, 2.3, 2.4])]


def test_a_spike_fires_one_alert_and_the_state_is_json() -> None:
    state: dict[str, Any] = {}
    out = DetectStep(RULE, state).run(batch(*quiet_then_spike(), topic=SCORED))
    (alert,) = out.alerts
    assert (alert.brand, alert.observed, alert.window_start.hour) == ("zakupowo", 3, 14)
    assert alert.alert_id == "zakupowo:complaint_spike:20261119T1400Z"
    assert (out.observed, out.dead, out.valid) == (7, [], [True] * 7)
    assert set(state) == {"zakupowo"} and isinstance(state["zakupowo"]["windows"], dict)


def test_only_customers_negative_mentions_count_and_undecodable_ones_are_left_to_the_index_step() -> None:
    state: dict[str, Any] = {}
    others = [
        scored(mention(1), sentiment="neutral", complaint=False),
        scored(mention(2, from_brand=True)),
        DEEP,
        b"not json",
    ]
    out = DetectStep(RULE, state).run(batch(*others, topic=SCORED))
    assert (out.observed, out.alerts, out.dead, out.valid) == (0, [], [], [True] * 4)
    assert state == {}


def test_a_detection_that_raises_is_dead_lettered_and_other_brands_go_on() -> None:
    broken = {"windows": {"not a number": {"count": 1, "ids": [], "categories": {}, "samples": []}}}
    state: dict[str, Any] = {"zakupowo": broken}
    out = DetectStep(RULE, state).run(batch(negative(1, 0), *quiet_then_spike("fotomat", 10), topic=SCORED))
    ((message, letter),) = out.dead
    assert (message.offset, letter.stage, letter.topic) == (0, "detect", SCORED)
    assert letter.reason.startswith("detection failed: ValueError: invalid literal for int()")
    assert state["zakupowo"] is broken  # left as it was
    assert [a.brand for a in out.alerts] == ["fotomat"]
    assert out.valid == [False] + [True] * 7


def test_the_routing_key_is_the_brand_of_customers_negative_mentions_only() -> None:
    assert detector_key(negative(1, 0).model_dump_json().encode()) == b"zakupowo"
    assert (
        detector_key(scored(mention(1), sentiment="positive", complaint=False).model_dump_json().encode())
        is None
    )
    assert detector_key(scored(mention(2, from_brand=True)).model_dump_json().encode()) is None
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

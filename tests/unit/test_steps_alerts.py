"""The alerts step over the real indexer and an in-memory search server."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from streams.contracts.records import Alert, AlertKind
from streams.search.layout import Layout
from streams.worker.steps.alerts import AlertsOutput, AlertsStep
from tests.factories import T0
from tests.fakes.messages import DEEP, batch
from tests.fakes.search import FakeSearch, indexer

ALERTS = "fw.alerts"


def alert(brand: str = "zakupowo") -> Alert:
    return Alert(
        alert_id=f"{brand}:complaint_spike:20261119T1200Z",
        kind=AlertKind.COMPLAINT_SPIKE,
        brand=brand,
        window_start=T0,
        window_end=T0 + timedelta(hours=1),
        observed=12,
        baseline_mean=1.5,
        baseline_std=0.5,
        threshold=5.0,
        score=10.5,
        top_categories={"payment": 12},
        sample_mention_ids=("facebook:c1",),
        fired_at=T0 + timedelta(minutes=70),
    )


def run(search: FakeSearch, *values: object) -> AlertsOutput:
    return asyncio.run(AlertsStep(indexer(search)).run(batch(*values, topic=ALERTS)))  # type: ignore[arg-type]


def test_alerts_are_indexed_and_undecodable_ones_dead_lettered() -> None:
    search = FakeSearch()
    out = run(search, alert(), DEEP, alert("fotomat"))
    assert [a.brand for a in out.indexed] == ["zakupowo", "fotomat"]
    assert search.ids(Layout().alerts) == {alert().alert_id, alert("fotomat").alert_id}
    ((message, letter),) = out.dead
    assert (message.offset, letter.stage, letter.topic) == (1, "alerts", ALERTS)
    assert letter.reason == "JSON nested too deeply (more than 32 levels)"
    assert out.valid == [True, False, True]


def test_a_rejected_alert_is_dead_lettered_not_counted_as_indexed() -> None:
    search = FakeSearch(reject={alert().alert_id: "bad score"})
    out = run(search, alert(), alert("fotomat"))
    assert [a.brand for a in out.indexed] == ["fotomat"] and out.rejected == 1
    ((message, letter),) = out.dead
    assert (message.offset, letter.stage) == (0, "alerts")
    assert letter.reason == "rejected by Elasticsearch (400): mapper_parsing_exception: bad score"


def test_an_alert_whose_write_raises_is_dead_lettered_and_the_next_indexed() -> None:
    search = FakeSearch(fail={alert().alert_id}, outages=2)
    out = run(search, alert(), alert("fotomat"))
    assert [a.brand for a in out.indexed] == ["fotomat"] and out.rejected == 0
    ((_, letter),) = out.dead
    assert letter.reason.startswith("indexing the alert failed: SearchFailure")

"""``flarewatch status``: the totals it prints from the worker's /metrics page."""

from __future__ import annotations

from streams.cli.status import Snapshot, parse_metrics, render
from streams.worker.metrics import Counters, Metric, Tally


def test_totals_sum_labelled_counters_and_failed_deliveries_stand_out() -> None:
    counters = Counters()
    counters.add(Metric.RECEIVED, 12)
    counters.add(Metric.DETECTOR_LATE, 2)
    counters.tally(Tally.FLARE_SIGNALS, "started", amount=2)
    counters.tally(Tally.FLARE_SIGNALS, "ended")
    counters.tally(Tally.INCIDENT_EVENTS, "incident.triggered")
    counters.tally(Tally.DELIVERIES, "hook", "delivered")
    counters.tally(Tally.DELIVERIES, "slack", "failed")
    counters.tally(Tally.DELIVERIES, "mail", "failed")
    snap = Snapshot(
        0.0, {"status": "ok"}, {"status": "ready"}, parse_metrics(counters.exposition()[0].decode())
    )
    text = render("http://127.0.0.1:6066", snap, snap)
    assert "received 12" in text and "late 2" in text
    assert "flare signals 3   incident versions 1   deliveries 3" in text
    assert "2 deliveries FAILED for good" in text

"""What the demo reads from the worker's /metrics page to decide it is done, and how it shows
incidents and deliveries (no servers needed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from streams.config.settings import load_settings
from streams.contracts.incidents import Delivery, Incident, IncidentState
from streams.devstack.demo import Status, effective_settings
from streams.devstack.incidents import announce, delivery_rows, incident_rows
from streams.worker.metrics import Metric, Tally, Watch
from tests.factories import T0


class Servers:
    bootstrap = "127.0.0.1:9"
    search_url = "http://127.0.0.1:9"


def test_labelled_counters_are_summed_and_pending_deliveries_counted_per_notifier() -> None:
    status = Status(notifiers=("hook", "slack"))
    status.metrics = {
        f'{Tally.INCIDENT_EVENTS.value}{{type="incident.triggered"}}': 2.0,
        f'{Tally.INCIDENT_EVENTS.value}{{type="incident.resolved"}}': 1.0,
        "flarewatch_incident_events_created": 1.7e9,  # not a sample of the counter
        f'{Watch.AGENT_MESSAGES.value}{{agent="notify-hook"}}': 3.0,
        f'{Watch.AGENT_MESSAGES.value}{{agent="notify-slack"}}': 1.0,
        Metric.DETECTOR_LATE.value: 4.0,
    }
    assert status.m(Tally.INCIDENT_EVENTS) == 3 and status.m(Metric.DETECTOR_LATE) == 4
    assert status.pending_deliveries() == 2
    assert Status().pending_deliveries() == 0  # no notifiers: nothing to wait for


def test_the_demo_keeps_the_configured_partitions_and_takes_the_sample_sections(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    base = load_settings(None)
    demo = effective_settings(base, Servers(), tmp_path, demo=True)  # type: ignore[arg-type]
    assert demo.kafka.partitions == base.kafka.partitions == 4
    assert {b.name for b in demo.brands} == {"zakupowo", "kosarka"}
    own = load_settings(None, brands=[{"name": "mine", "terms": ["mine"]}], kafka={"partitions": 6})
    assert effective_settings(own, Servers(), tmp_path, demo=True).kafka.partitions == 6  # type: ignore[arg-type]


def incident(**fields: Any) -> Incident:
    values: dict[str, Any] = {
        "incident_id": "zakupowo:payment:20261119T1200Z",
        "version": 2,
        "brand": "zakupowo",
        "category": "payment",
        "measure": "complaints",
        "state": IncidentState.UPDATED,
        "severity": "critical",
        "started_at": T0,
        "updated_at": T0 + timedelta(minutes=15),
        "bucket_seconds": 300,
        "observed": 42.0,
        "expected": 1.5,
        "peak": 42.0,
        "peak_expected": 1.5,
        "peak_at": T0 + timedelta(minutes=15),
        "top_terms": ("blik", "nie działa"),
        "search_command": "flarewatch search --brand zakupowo --category payment",
    }
    return Incident(**(values | fields))


def test_incidents_and_deliveries_are_listed_one_per_line() -> None:
    (row,) = incident_rows([incident()])
    assert row.split() == [
        "zakupowo:payment:20261119T1200Z",
        "zakupowo",
        "payment",
        "critical",
        "updated",
        "started",
        "2026-11-19",
        "12:00",
        "UTC",
        "v2",
    ]
    text = announce(incident())
    assert text.startswith("\n*** INCIDENT zakupowo:payment:20261119T1200Z v2 UPDATED (critical): zakupowo")
    assert "42 complaints in 5 min" in text and "blik, nie działa" in text
    delivery = Delivery(
        delivery_id="e:hook",
        event_id="zakupowo:payment:20261119T1200Z:v2",
        incident_id="zakupowo:payment:20261119T1200Z",
        version=2,
        type="incident.updated",
        notifier="hook",
        notifier_type="webhook",
        status="failed",
        attempts=3,
        last_error="HTTP 404",
        finished_at=T0,
    )
    (line,) = delivery_rows([delivery])
    assert line.split()[:5] == [
        "hook",
        "(webhook)",
        "zakupowo:payment:20261119T1200Z:v2",
        "failed",
        "attempts",
    ]
    assert line.endswith("last error: HTTP 404")

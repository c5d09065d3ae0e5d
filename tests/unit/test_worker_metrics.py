"""The worker's /metrics text: names declared in streams.worker.metrics, served by prometheus-client."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from streams.worker.metrics import BUCKETS, HELP, LABELS, Counters, Metric, Tally, Timing, Watch


def families(counters: Counters) -> dict[str, object]:
    body, _ = counters.exposition()
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def samples(counters: Counters) -> dict[str, float]:
    """``name{labels}`` -> value, the way streams.devstack.demo.worker_metrics reads the page."""
    body, _ = counters.exposition()
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            values[name] = float(value)
    return values


def test_every_declared_name_has_help_and_is_exported_with_its_name_unchanged() -> None:
    counters = Counters()
    counters.add(Metric.RECEIVED, 3)
    counters.add(Metric.SCORE_SECONDS, 0.25)
    values = samples(counters)
    assert values["flarewatch_mentions_received_total"] == 3
    assert values["flarewatch_score_seconds_total"] == 0.25
    assert all(values[m.value] == 0 for m in Metric if m not in (Metric.RECEIVED, Metric.SCORE_SECONDS))
    assert set(HELP) == set(Metric) | set(Tally) | set(Timing) | set(Watch)
    body, content_type = counters.exposition()
    assert content_type.startswith("text/plain; version=")
    for name in [*Metric, *Tally, *Timing, Watch.HEALTHY, Watch.READY]:
        assert f"# HELP {name.removesuffix('_total')}" in body.decode(), name


def test_snapshot_keeps_the_counter_api() -> None:
    counters = Counters()
    counters.add(Metric.INDEXED, 5)
    counters.add(Metric.INDEXED)
    snapshot = counters.snapshot()
    assert snapshot[Metric.INDEXED.value] == 6
    assert snapshot[Metric.DETECTOR_LATE.value] == 0
    assert set(snapshot) == {m.value for m in Metric}


def test_labelled_counters_count_per_label_and_are_exported() -> None:
    counters = Counters()
    counters.tally(Tally.NOTIFY_ATTEMPTS, "hook", "retry")
    counters.tally(Tally.NOTIFY_ATTEMPTS, "hook", "retry", amount=2)
    counters.tally(Tally.NOTIFY_ATTEMPTS, "hook", "ok")
    counters.tally(Tally.DELIVERIES, "hook", "delivered")
    assert counters.tallies(Tally.NOTIFY_ATTEMPTS) == {("hook", "retry"): 3, ("hook", "ok"): 1}
    assert counters.tallies(Tally.FLARE_SIGNALS) == {}
    values = samples(counters)
    assert values[f'{Tally.NOTIFY_ATTEMPTS.value}{{notifier="hook",outcome="retry"}}'] == 3
    assert values[f'{Tally.DELIVERIES.value}{{notifier="hook",status="delivered"}}'] == 1
    assert set(LABELS) == set(Tally)


def test_histograms_count_into_their_buckets() -> None:
    counters = Counters()
    counters.observe(Timing.SCORE_BATCH, [0.003, 0.2, 500.0])
    counters.observe(Timing.CREATED_TO_INDEXED, [-1.0, 7200.0])  # clock skew counts as zero
    values = samples(counters)
    score = Timing.SCORE_BATCH.value
    assert values[f'{score}_bucket{{le="0.005"}}'] == 1
    assert values[f'{score}_bucket{{le="0.25"}}'] == 2
    assert values[f'{score}_bucket{{le="120.0"}}'] == 2
    assert values[f'{score}_bucket{{le="+Inf"}}'] == 3
    assert values[f"{score}_count"] == 3
    assert values[f"{score}_sum"] == 500.203
    created = Timing.CREATED_TO_INDEXED.value
    assert values[f'{created}_bucket{{le="0.1"}}'] == 1
    assert values[f'{created}_bucket{{le="3600.0"}}'] == 1
    assert values[f'{created}_bucket{{le="21600.0"}}'] == 2
    assert BUCKETS[Timing.CREATED_TO_INDEXED][-1] == 86400.0


def test_lag_gauges_follow_the_assignment() -> None:
    counters = Counters()
    counters.lags({("raw", 0): 5, ("raw", 1): 0}, {"score": 5, "index": None})
    values = samples(counters)
    lag = Watch.CONSUMER_LAG.value
    assert values[f'{lag}{{partition="0",topic="raw"}}'] == 5
    assert values[f'{lag}{{partition="1",topic="raw"}}'] == 0
    assert values[f'{Watch.AGENT_LAG.value}{{agent="score"}}'] == 5
    assert not any('agent="index"' in name for name in values)

    counters.lags({("raw", 1): 2}, {"score": 2})  # partition 0 revoked
    values = samples(counters)
    assert f'{lag}{{partition="0",topic="raw"}}' not in values
    assert values[f'{lag}{{partition="1",topic="raw"}}'] == 2


def test_progress_crashes_and_state() -> None:
    counters = Counters()
    counters.progress("score", 1_700_000_000.5, 64)
    counters.progress("score", 1_700_000_001.5, 10)
    counters.crashed("detect")
    counters.state(healthy=False, ready=True)
    values = samples(counters)
    assert values[f'{Watch.LAST_PROGRESS.value}{{agent="score"}}'] == 1_700_000_001.5
    assert values[f'{Watch.AGENT_MESSAGES.value}{{agent="score"}}'] == 74
    assert values[f'{Watch.AGENT_CRASHES.value}{{agent="detect"}}'] == 1
    assert values[Watch.HEALTHY.value] == 0
    assert values[Watch.READY.value] == 1


def test_process_metrics_come_for_free_and_each_worker_has_its_own_registry() -> None:
    first, second = Counters(), Counters()
    first.add(Metric.DETECTOR_EVENTS)
    assert second.snapshot()[Metric.DETECTOR_EVENTS.value] == 0
    names = families(second)
    assert "process_resident_memory_bytes" in names
    assert "python_info" in names
    assert "python_gc_objects_collected" in names

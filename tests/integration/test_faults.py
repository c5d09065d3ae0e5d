"""Faults tried on purpose against the real broker, the real search server and the real worker
(with the fixed scorer, so the plumbing is tested, not the model). Every test has a fixed seed
and ends with the same check: every mention sent is in Elasticsearch exactly once (by id, and
counted once by its thread), nothing else is.

The drivers live in ``faults.py``; ``bench/bench_faults.py`` runs them at a larger scale.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.config.settings import Settings
from streams.config.worker import WorkerSettings
from streams.devstack.embedded import EmbeddedServers
from tests.integration.bad_messages import BAD_KINDS, bad_messages
from tests.integration.conftest import Harness, Servers, running
from tests.integration.faults import (
    FUZZ_DLQ_LIMITS,
    FaultResult,
    Run,
    fuzzed_bad_messages,
    search_outage,
    sigkill_restarts,
    slow_consumer,
    synthetic_mentions,
    throttled_bulk,
)
from tests.integration.proxy import FaultyProxy, Script

pytestmark = pytest.mark.integration
BRANDS = ("zakupowo", "kosarka")


def assert_exactly_once(result: FaultResult, dead_letters: int = 0) -> None:
    print(result)
    assert result.lost == 0 and result.indexed == result.sent, result
    assert result.duplicates == 0, result
    assert result.dead_letters == dead_letters, result


def with_search(settings: Settings, url: str) -> Settings:
    return settings.model_copy(
        update={"elasticsearch": settings.elasticsearch.model_copy(update={"url": url})}
    )


@pytest.fixture()
def settings(settings: Settings) -> Settings:
    """The shared fixture's settings with the worker's default batch sizes (it makes them
    small): the faults meet the worker as it runs in production."""
    defaults = WorkerSettings()
    batches = {"score_batch": defaults.score_batch, "index_batch": defaults.index_batch}
    return settings.model_copy(update={"worker": settings.worker.model_copy(update=batches)})


def test_worker_killed_five_times_loses_and_duplicates_nothing(harness: Harness) -> None:
    mentions = synthetic_mentions(5000, seed=801, tag="kill", brands=BRANDS)
    result = sigkill_restarts(Run(harness, seed=801), mentions, kills=5)
    assert_exactly_once(result)


def test_search_server_down_60s_backpressure_then_catch_up(
    settings: Settings, own_search: EmbeddedServers, tmp_path: Path
) -> None:
    mentions = synthetic_mentions(6000, seed=802, tag="outage", brands=BRANDS)
    with running(with_search(settings, own_search.search_url), tmp_path) as harness:
        report = search_outage(Run(harness, seed=802), own_search, mentions, outage_s=60)
    print("worker RSS samples (s, MB):", [(round(t), round(mb)) for t, mb in report.samples])
    assert_exactly_once(report.result)
    assert report.rss_peak_mb < report.rss_before_mb + 50, report


def test_bulk_items_answered_429_and_503_are_retried_exactly_once(
    settings: Settings, servers: Servers, tmp_path: Path
) -> None:
    mentions = synthetic_mentions(2000, seed=803, tag="throttle", brands=BRANDS)
    proxy = FaultyProxy(servers.search_url, Script(seed=803)).start()
    try:
        with running(with_search(settings, proxy.url), tmp_path) as harness:
            result = throttled_bulk(Run(harness, seed=803), mentions, proxy.stats.summary)
    finally:
        proxy.stop()
    assert_exactly_once(result)
    stats = proxy.stats
    assert stats.items_429 > 50 and stats.items_503 > 50 and stats.whole_503 > 0, stats.summary()
    assert stats.lost_acks > 0, stats.summary()


def test_slow_scoring_does_not_get_the_worker_thrown_out_of_its_group(harness: Harness) -> None:
    # Scoring runs in an executor and Faust heartbeats from its consumer thread, so a batch
    # longer than the session timeout must not cost the worker its partitions; the poll
    # interval (Faust's broker_max_poll_interval, 1000 s) is far above any batch time.
    session_timeout = harness.settings.kafka.session_timeout_s
    mentions = synthetic_mentions(1500, seed=804, tag="slow", brands=BRANDS)
    report = slow_consumer(Run(harness, seed=804), mentions, factor=10, slow_s=20)
    assert_exactly_once(report.result)
    assert report.batch_s > session_timeout, "a slow batch must outlast the session timeout"
    assert report.slow_batches >= 2, report
    assert report.joins_at_start == 1 and report.rejoins == 0, report


def test_ten_thousand_fuzzed_bad_messages_are_dead_lettered_and_valid_ones_indexed_once(
    settings: Settings, tmp_path: Path
) -> None:
    worker = settings.worker.model_copy(update=FUZZ_DLQ_LIMITS)
    settings = settings.model_copy(update={"worker": worker})
    mentions = synthetic_mentions(5000, seed=805, tag="fuzz", brands=BRANDS)
    bad = bad_messages(10_000, seed=805)
    assert {b.kind for b in bad} == set(BAD_KINDS)
    with running(settings, tmp_path) as harness:
        report = fuzzed_bad_messages(Run(harness, seed=805), mentions, bad)
    assert not report.wrong, f"{len(report.wrong)} wrong, e.g. {report.wrong[:10]}"
    assert_exactly_once(report.result, dead_letters=len(bad))
    status, body = report.health
    assert status == 200 and json.loads(body)["status"] == "ok", (status, body)

"""The search server goes away mid-stream and comes back: the worker backs off, retries and
indexes every mention exactly once. The test runs its own search server (so it can stop it)
next to the session's broker, embedded or external."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streams.config.settings import Settings
from streams.devstack.demo import worker_metrics
from streams.devstack.embedded import EmbeddedServers
from streams.worker.metrics import Metric
from tests.integration.conftest import running, wait_for
from tests.integration.test_pipeline import index_count, indexed_ids, sample_mentions

pytestmark = pytest.mark.integration


def test_search_outage_mid_stream_loses_and_duplicates_nothing(
    settings: Settings, own_search: EmbeddedServers, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={"elasticsearch": settings.elasticsearch.model_copy(update={"url": own_search.search_url})}
    )
    mentions = sample_mentions(400)
    first, second = mentions[:150], mentions[150:]
    with running(settings, tmp_path) as harness:
        worker = harness.start_worker()
        harness.produce_mentions(first)
        wait_for(lambda: index_count(harness) >= len(first), 240, "the first mentions indexed", worker)
        time.sleep(2)  # noida-db writes its data file about once a second
        own_search.stop()

        harness.produce_mentions(second)
        port = settings.worker.web_port
        wait_for(
            lambda: worker_metrics(port, timeout_s=30).get(Metric.INDEX_RETRIES.value, 0) >= 2,
            180,
            "the worker to retry against the stopped search server",
            worker,
        )
        assert worker.alive()

        own_search.start_search_only()  # same port, same data folder
        wait_for(lambda: index_count(harness) >= len(mentions), 300, "every mention indexed", worker)
        ids = indexed_ids(harness)
        assert set(ids) == {m.mention_id for m in mentions} and max(ids.values()) == 1
        # The counter moves once a batch's threads are written too, which can still be retrying
        # while its mentions are already searchable.
        wait_for(
            lambda: worker_metrics(port, timeout_s=30).get(Metric.INDEXED.value, 0) >= len(mentions),
            120,
            "every mention counted as indexed",
            worker,
        )
        metrics = worker_metrics(port, timeout_s=30)
        assert metrics[Metric.INDEX_REJECTED.value] == 0

"""``flarewatch collect pages`` killed with SIGKILL again and again, mid-page, against a local Graph
API and the real broker: every item reaches the raw topic exactly once."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaConsumer

from streams.config.settings import Settings
from streams.contracts.records import utc_now
from streams.devstack.demo import write_config
from streams.kafka.clients import kafka_python_config
from streams.kafka.topics import Topics
from tests.fakes.graph_api import TOKEN, FakeGraph

pytestmark = pytest.mark.integration

PAGE_ID = "1001"


class SlowGraph(FakeGraph):
    """Answers after ``delay_s``, so a kill lands in the middle of a poll."""

    delay_s = 0.2

    def answer(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        time.sleep(self.delay_s)
        return super().answer(target, headers)


def fill(graph: FakeGraph) -> set[str]:
    """Three posts with 40 comments and replies each; returns every item's mention id."""
    start = utc_now() - timedelta(hours=6)
    ids = set()
    for p in range(3):
        post_id = f"{PAGE_ID}_{500 + p}"
        graph.post(post_id, f"Nowa promocja numer {p}", start + timedelta(minutes=p))
        ids.add(f"facebook:{post_id}")
        for c in range(40):
            comment_id = f"{500 + p}_{c}"
            parent = f"{500 + p}_{c - 1}" if c % 4 == 3 else None
            graph.comment(
                post_id,
                comment_id,
                f"Komentarz {c}: zakupowo, gdzie moja paczka?",
                start + timedelta(minutes=10 + p * 50 + c),
                parent=parent,
            )
            ids.add(f"facebook:{comment_id}")
    return ids


def collect(config: Path, state: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"ZAKUPOWO_PAGE_TOKEN": TOKEN}
    command = [sys.executable, "-m", "streams", "--config", str(config), "collect", "pages"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, "--state-dir", str(state), *extra], stdout=out, stderr=subprocess.STDOUT, env=env
        )


def published(settings: Settings) -> Counter[str]:
    consumer = KafkaConsumer(
        Topics(settings.kafka.topic_prefix).raw,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=4000,
        **kafka_python_config(settings.kafka),
    )
    try:
        found: Counter[str] = Counter()
        for record in consumer:
            value: dict[str, Any] = json.loads(record.value)
            found[f"{value['platform']}:{value['native_id']}"] += 1
        return found
    finally:
        consumer.close()


def test_killed_mid_page_again_and_again_every_item_is_published_once(
    settings: Settings, tmp_path: Path
) -> None:
    brands = [
        {
            "name": "zakupowo",
            "terms": ["zakupowo"],
            "facebook": {"page_id": PAGE_ID, "token_env": "ZAKUPOWO_PAGE_TOKEN"},
        }
    ]
    state, log = tmp_path / "state", tmp_path / "collect.log"
    rng = random.Random(7)
    with SlowGraph(page_id=PAGE_ID) as graph:
        expected = fill(graph)
        config = write_config(settings.model_copy(update={"brands": ()}), tmp_path / "flarewatch.yaml")
        data = yaml.safe_load(config.read_text())
        data["brands"] = brands
        data["collectors"] = {
            "facebook": {"api_url": graph.url, "page_size": 7},
            "poll_interval_s": 1,
        }
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        kills = 0
        for _ in range(5):
            child = collect(config, state, log)
            time.sleep(rng.uniform(2.0, 4.0))  # start-up, then somewhere in the pages
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            kills += 1
        final = collect(config, state, log, "--once")
        assert final.wait(180) == 0, log.read_text()[-3000:]
    counts = published(settings)
    assert kills == 5
    assert set(counts) == expected, sorted(expected ^ set(counts))[:10]
    twice = {k: n for k, n in counts.items() if n > 1}
    assert not twice, (twice, log.read_text()[-3000:])
    finals = re.findall(r"facebook-zakupowo: fetched \d+, published (\d+)", log.read_text())
    assert len(finals) == 1, "the killed runs never finished a poll"
    assert 0 < int(finals[0]) < len(expected), "the kills landed mid-poll: part was published before"

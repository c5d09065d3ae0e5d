"""Mentions through the real broker, the real worker (with the real model) and the real search
server: every valid mention searchable exactly once, every invalid one dead-lettered with its
reason. (A worker killed mid-stream is tried five times in test_faults.py.)"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from streams.config.settings import Settings
from streams.contracts.codec import decode
from streams.contracts.records import RawMention
from streams.devstack.demo import SAMPLE
from streams.search.client import layout
from tests.integration.conftest import Harness, running, wait_for

pytestmark = pytest.mark.integration


def sample_mentions(n: int) -> list[RawMention]:
    out = []
    for line in SAMPLE.read_bytes().splitlines():
        record = decode(RawMention, line)
        if isinstance(record, RawMention):
            out.append(record)
        if len(out) == n:
            break
    return out


BASE = {
    "platform": "x",
    "brand": "zakupowo",
    "author": {"id": "u-bad"},
    "text": "ok",
    "created_at": "2026-11-19T12:00:00Z",
}
INVALID = {
    b"bad-json": (b'{"platform": "x", "native_id": "b1", "text": "cut', "invalid JSON"),
    b"bad-type": (
        json.dumps({**BASE, "native_id": "b2", "author": {"id": "u", "followers": "many"}}).encode(),
        "author.followers: Input should be a valid integer",
    ),
    b"huge": (
        json.dumps({**BASE, "native_id": "b3", "text": "x" * 300_000}).encode(),
        "-byte limit",
    ),
    b"bad-utf8": (b'{"platform": "x", "text": "\xff\xfe"}', "not valid UTF-8"),
    b"empty": (json.dumps({**BASE, "native_id": "b5", "text": "   "}).encode(), "empty text"),
    b"brand": (
        json.dumps({**BASE, "native_id": "b6", "brand": "acme"}).encode(),
        "unknown brand 'acme'",
    ),
    b"naive-time": (
        json.dumps({**BASE, "native_id": "b7", "created_at": "2026-11-19 12:00"}).encode(),
        "timestamp must include a timezone",
    ),
}
GERMAN = RawMention.model_validate(
    {**BASE, "native_id": "de1", "text": "Meine Bestellung ist seit zwei Wochen nicht angekommen!"}
)


def indexed_ids(h: Harness) -> Counter[str]:
    es = h.search()
    es.indices.refresh(index=layout(h.settings.elasticsearch).mentions)
    hits = es.search(
        index=layout(h.settings.elasticsearch).mentions,
        size=10_000,
        source=False,
        query={"match_all": {}},
    )["hits"]["hits"]
    return Counter(hit["_id"] for hit in hits)


def index_count(h: Harness) -> int:
    es = h.search()
    es.indices.refresh(index=layout(h.settings.elasticsearch).mentions)
    return int(es.count(index=layout(h.settings.elasticsearch).mentions)["count"])


def check_threads(h: Harness, mentions: list[RawMention]) -> None:
    es = h.search()
    names = layout(h.settings.elasticsearch)
    es.indices.refresh(index=names.threads)
    expected = Counter(m.thread_key for m in mentions)
    docs = es.mget(index=names.threads, ids=list(expected))["docs"]
    got = {d["_id"]: d["_source"]["flarewatch"]["thread"]["mentions"] for d in docs if d.get("found")}
    assert got == dict(expected)


def test_valid_mentions_searchable_exactly_once_and_invalid_ones_dead_lettered(
    harness: Harness,
) -> None:
    mentions = [*sample_mentions(250), GERMAN]
    values = [(m.partition_key, m.model_dump_json().encode()) for m in mentions]
    values += [(key, value) for key, (value, _) in INVALID.items()]
    values += [(mentions[0].partition_key, mentions[0].model_dump_json().encode())]  # a duplicate send
    worker = harness.start_worker()
    harness.produce(values)
    expected = {m.mention_id for m in mentions}
    wait_for(lambda: index_count(harness) >= len(expected), 240, "every valid mention indexed", worker)
    ids = indexed_ids(harness)
    assert set(ids) == expected and max(ids.values()) == 1

    letters = harness.dead_letters(len(INVALID))
    by_key = {base64.b64decode(letter.key_b64 or ""): letter for letter in letters}
    assert set(by_key) == set(INVALID)
    for key, (_, reason) in INVALID.items():
        assert reason in by_key[key].reason, (key, by_key[key].reason)
        assert base64.b64decode(by_key[key].value_b64) == INVALID[key][0]
        assert by_key[key].stage == "decode" and by_key[key].topic == harness.topics.raw

    es = harness.search()
    german = es.get(
        index=layout(harness.settings.elasticsearch).mention_index(GERMAN.created_at),
        id=GERMAN.mention_id,
    )["_source"]["flarewatch"]
    assert german["sentiment"] == "unscored" and german["unscored_reason"] == "unsupported language 'de'"
    check_threads(harness, mentions)


def test_demo_once_opens_one_incident_for_the_sample_flare_up_and_pages_a_webhook_once(
    tmp_path: Path,
) -> None:
    """``flarewatch --config FILE demo --once`` with the bundled brands and a webhook notifier:
    the BLIK outage is one incident, led by payment complaints, and each of its versions reaches
    the receiver once, signed so that ``standardwebhooks`` verifies it.

    Whether it is filed as Zakupowo's ``payment`` incident or its brand-wide one depends on one or
    two mentions: in the outage's first 15 minutes payment is 9 or 10 of the 20 complaints against
    1.7 expected, either side of ``fold_share`` (half the excess), and int8 scores move slightly
    with what a mention is batched with. Either way it is one incident, paged once."""
    import os
    import subprocess
    import sys

    import yaml
    from standardwebhooks import Webhook

    from streams.devstack.demo import DEMO_CONFIG
    from tests.notify_servers import WEBHOOK_SECRET, WebhookReceiver

    with WebhookReceiver() as hook:
        config = yaml.safe_load(DEMO_CONFIG.read_text())
        config["notifiers"] = [
            {"name": "oncall", "type": "webhook", "url": hook.url, "secret_env": "ONCALL_WEBHOOK_SECRET"}
        ]
        path = tmp_path / "flarewatch.yaml"
        path.write_text(yaml.safe_dump(config))
        demo = ["demo", "--once", "--data-dir", str(tmp_path / "demo")]
        result = subprocess.run(
            [sys.executable, "-m", "streams", "--config", str(path), *demo],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
            env={**os.environ, "ONCALL_WEBHOOK_SECRET": WEBHOOK_SECRET},
        )
        received = hook.received
        delivered = hook.delivered_ids()
    assert result.returncode == 0, result.stderr[-3000:]
    summary = result.stdout
    assert re.search(r"\*\*\* INCIDENT zakupowo:(payment|all):", summary), summary
    assert "dead-lettered        6" in summary
    lines = {row.split()[0]: row for row in summary.splitlines() if row.startswith("  ")}
    from streams.collectors.files import count_lines

    assert int(lines["indexed"].split()[1].replace(",", "")) == count_lines(SAMPLE) - 6
    assert int(lines["incidents"].split()[1]) == 1  # the BLIK outage: one problem, one incident

    verifier = Webhook(WEBHOOK_SECRET)
    payloads = [verifier.verify(r.body, r.headers) for r in received]  # raises on a bad signature
    assert {(p["data"]["brand"], p["data"]["category"]) for p in payloads} <= {
        ("zakupowo", "payment"),
        ("zakupowo", None),
    }
    assert len({p["data"]["id"] for p in payloads}) == 1
    counted = payloads[-1]["data"]["categories"]
    assert max(counted, key=counted.get) == "payment", counted  # the outage: payment leads
    assert "blik" in payloads[-1]["data"]["top_terms"]
    assert sorted(delivered) == sorted(set(delivered)), "a version delivered twice"
    types = [p["type"] for p in payloads]
    assert types[0] == "incident.triggered" and types.count("incident.triggered") == 1
    assert f"oncall (webhook)  {payloads[0]['data']['id']}:v1  delivered" in summary


def test_worker_serves_metrics_and_health(harness: Harness) -> None:
    import urllib.request

    from streams.devstack.demo import worker_metrics

    worker = harness.start_worker()
    port = harness.settings.worker.web_port
    seen: dict[str, float] = {}

    def answered() -> bool:
        # the event loop can stall for seconds while the model loads: a generous timeout
        seen.update(worker_metrics(port, timeout_s=30))
        return bool(seen)

    wait_for(answered, 180, "the metrics page", worker)
    assert seen["flarewatch_mentions_received_total"] == 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as response:
        assert response.status == 200 and json.loads(response.read()) == {"status": "ok"}


def test_a_flood_of_bad_messages_stops_the_worker_with_a_clear_error(
    settings: Settings, tmp_path: Path
) -> None:
    worker_settings = settings.worker.model_copy(update={"dlq_max_consecutive": 20})
    settings = settings.model_copy(update={"worker": worker_settings})
    with running(settings, tmp_path) as harness:
        worker = harness.start_worker()
        harness.produce([(None, b"not json %d" % i) for i in range(60)])
        wait_for(lambda: not worker.alive(), 180, "the worker to stop", worker)
        assert worker.process.returncode not in (0, None)
        assert "invalid messages in a row (limit 20)" in worker.log_path.read_text()
        # what came before the limit was dead-lettered, not dropped; the rest waits in the topic
        letters = harness.dead_letters(20, timeout_s=30)
        assert 20 <= len(letters) < 60
        assert all("invalid JSON" in letter.reason for letter in letters)

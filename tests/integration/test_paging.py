"""Paging through the real broker, worker (with the fixed scorer) and search server: a flare-up
becomes one incident, and every state change reaches each notifier exactly once, through a
receiver that fails three times, one that hangs, two workers side by side, and both killed
between detection and delivery. (The sample's flare-up with the real model is in test_pipeline.py.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from streams.config.settings import Settings
from streams.contracts.incidents import Incident
from streams.contracts.records import Author, RawMention
from streams.devstack.children import Child
from streams.devstack.embedded import free_port
from streams.search.client import layout
from streams.search.incidents import read_incidents
from tests.integration.conftest import Harness, running, wait_for
from tests.integration.test_pipeline import index_count
from tests.notify_servers import HANG, WEBHOOK_SECRET, WebhookReceiver

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 16, tzinfo=UTC)
SPIKE_HOUR = 72
"""Three days of ordinary traffic, then an hour of BLIK complaints, then two ordinary hours (the
watermark passes the spike's bucket; the incident stays open, to be acknowledged)."""
HOURS = SPIKE_HOUR + 3
SECRET_ENV = "FLAREWATCH_TEST_WEBHOOK_SECRET"
ORDINARY = ("dziekuje za szybka dostawe", "kiedy promocja?", "kurier sie spoznia", "refund prosze")
"""Per hour: two questions or thanks, and two complaints (delivery, refund): the baseline."""


def mentions() -> list[RawMention]:
    out: list[RawMention] = []
    for hour in range(HOURS):
        texts = list(ORDINARY)
        if hour == SPIKE_HOUR:
            texts += [f"BLIK nie przechodzi, platnosc odrzucona ({i})" for i in range(60)]
        for i, text in enumerate(texts):
            at = START + timedelta(hours=hour, minutes=55 * i / len(texts))
            out.append(
                RawMention(
                    platform="x",
                    native_id=f"p{hour}-{i}",
                    brand="zakupowo",
                    author=Author(id=f"a{hour}-{i}", followers=100),
                    text=f"@zakupowo {text}",
                    created_at=at,
                )
            )
    return out


def later_mentions(n: int = 200) -> list[RawMention]:
    """Another brand's mentions, sent while a notifier hangs."""
    at = START + timedelta(hours=SPIKE_HOUR)
    return [
        RawMention(
            platform="x",
            native_id=f"k{i}",
            brand="kosarka",
            author=Author(id=f"k{i}"),
            text=f"@kosarka koszonom {i}",
            created_at=at + timedelta(seconds=10 * i),
        )
        for i in range(n)
    ]


@pytest.fixture()
def receivers() -> Iterator[dict[str, WebhookReceiver]]:
    with (
        WebhookReceiver() as ok,
        WebhookReceiver([500, 500, 500]) as flaky,
        WebhookReceiver(default=HANG) as hanging,
        WebhookReceiver(default=HANG) as gate,
    ):
        yield {"ok": ok, "flaky": flaky, "hanging": hanging, "gate": gate}


def paging_settings(base: Settings, hooks: dict[str, WebhookReceiver]) -> Settings:
    notify = {
        "notifiers": [
            {"name": name, "type": "webhook", "url": hook.url, "secret_env": SECRET_ENV}
            for name, hook in hooks.items()
        ],
        "retry": {"initial_s": 0.2, "max_s": 1.0, "max_elapsed_s": 900, "attempt_timeout_s": 1.5},
    }
    detector = {"bucket_minutes": 60, "allowed_lateness_minutes": 60, "warmup_hours": 48}
    return base.model_copy(
        update={
            "notify": type(base.notify).model_validate(notify),
            "detector": type(base.detector).model_validate(detector),
        }
    )


def start_second_worker(h: Harness) -> Child:
    """Another worker in the same group, with a port and data folder of its own."""
    first = h.settings
    worker = first.worker.model_copy(update={"web_port": free_port(), "data_dir": h.folder / "worker-2"})
    h.settings = first.model_copy(update={"worker": worker})
    try:
        return h.start_fake_worker()
    finally:
        h.settings = first


def deliveries(h: Harness) -> list[dict[str, Any]]:
    es = h.search()
    index = layout(h.settings.elasticsearch).deliveries
    if not es.indices.exists(index=index):
        return []
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=1000, query={"match_all": {}})["hits"]["hits"]
    return [hit["_source"] for hit in hits]


def incidents(h: Harness) -> list[Incident]:
    es = h.search()
    names = layout(h.settings.elasticsearch)
    es.indices.refresh(index=names.incidents)
    return read_incidents(es, names)


def delivered(h: Harness, notifier: str) -> set[str]:
    return {d["event_id"] for d in deliveries(h) if d["notifier"] == notifier and d["status"] == "delivered"}


def test_each_state_change_reaches_every_notifier_once_through_failures_hangs_and_a_kill(
    settings: Settings,
    tmp_path: Any,
    receivers: dict[str, WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, WEBHOOK_SECRET)
    sent = mentions()
    with running(paging_settings(settings, receivers), tmp_path) as h:
        worker, other = h.start_fake_worker(), start_second_worker(h)  # side by side: they split
        joined = "Executing _on_partitions_assigned"  # the partitions of every topic, incidents too
        wait_for(lambda: joined in other.log_path.read_text(), 60, "the second worker in the group", other)
        h.produce_mentions(sent)
        receivers["hanging"].wait_for(1, 120)  # the incident is out, one notifier hangs on it
        more = later_mentions()
        h.produce_mentions(more)
        began = time.monotonic()
        wait_for(lambda: index_count(h) >= len(sent) + len(more), 60, "more mentions indexed", worker)
        indexing_s = time.monotonic() - began
        assert not any(d["notifier"] == "hanging" for d in deliveries(h)), "still hanging meanwhile"
        assert indexing_s < 30, f"{len(more)} mentions took {indexing_s:.1f}s to index"

        wait_for(lambda: bool(delivered(h, "ok")) and bool(delivered(h, "flaky")), 120, "deliveries", worker)
        for child in (worker, other):
            assert "score batch=" in child.log_path.read_text(), "both workers took a share of the input"
        receivers["gate"].wait_for(1, 60)  # detected, and the gate's delivery is in flight: kill
        for child in (worker, other):  # whichever holds the gate's delivery dies in the middle of it
            child.stop(signal.SIGKILL, timeout=10)
            h.workers.remove(child)
        receivers["gate"].answer(200)
        # Let the dead members' sessions expire first: the embedded broker misreports a log's end
        # (ListOffsets), so a second rebalance right after the restart can fail Faust's changelog
        # consistency check; a real Kafka does not need this wait.
        time.sleep(h.settings.kafka.session_timeout_s + 1)
        worker = h.start_fake_worker()
        expected = delivered(h, "ok")
        wait_for(lambda: delivered(h, "gate") >= expected, 120, "the gate's deliveries after restart", worker)
        time.sleep(3)  # a second send, were there one, would land in this time

        found = incidents(h)
        assert [(i.brand, i.category) for i in found] == [("zakupowo", "payment")], found
        incident_id = found[0].incident_id
        for name in ("ok", "flaky", "gate"):
            ids = receivers[name].delivered_ids()
            assert ids and max(Counter(ids).values()) == 1, (name, ids)
            assert {i.rsplit(":v", 1)[0] for i in ids} == {incident_id}
        records = [d for d in deliveries(h) if d["notifier"] == "flaky"]
        first = min(records, key=lambda d: d["version"])
        assert first["type"] == "incident.triggered" and first["attempts"] == 4

        config = ["--config", str(h.folder / "flarewatch.yaml")]
        before_ack = len(receivers["ok"].received)  # the ack may be delivered before the CLI exits
        ack = subprocess.run(
            [sys.executable, "-m", "streams", *config, "incidents", "ack", incident_id, "--by", "ola"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ack.returncode == 0, ack.stderr
        assert f"{incident_id} acknowledged by ola" in ack.stdout
        receivers["ok"].wait_for(before_ack + 1, 60)
        wait_for(lambda: len(delivered(h, "ok")) > len(expected), 60, "the acknowledgement delivered", worker)

        hook = Webhook(WEBHOOK_SECRET)
        for request in receivers["ok"].received:
            payload = hook.verify(request.body, request.headers)
            assert payload["data"]["brand"] == "zakupowo" and payload["data"]["id"] == incident_id
        types = [hook.verify(r.body, r.headers)["type"] for r in receivers["ok"].received]
        assert types[0] == "incident.triggered" and types[-1] == "incident.acknowledged", types
        assert Counter(receivers["ok"].delivered_ids()) == Counter(delivered(h, "ok"))

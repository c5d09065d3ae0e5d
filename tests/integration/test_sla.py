"""Response times and SLA alerts through the real broker, worker (fixed scorer) and search server.

A conversation with known timestamps, in Warsaw business hours (Mon-Fri 09:00-17:00) around a
public holiday (11 November, Independence Day): the report gets the exact first- and next-response
times and the response rate, and the one unanswered message's warning and breach reach a webhook
once each, however many sweeps run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from standardwebhooks import Webhook

from streams.config.settings import Settings
from streams.contracts.records import Author, RawMention, utc_now
from streams.devstack.demo import write_config
from streams.search.client import layout
from tests.integration.conftest import Harness, wait_for
from tests.notify_servers import WEBHOOK_SECRET, WebhookReceiver

pytestmark = pytest.mark.integration

SECRET_ENV = "FLAREWATCH_TEST_WEBHOOK_SECRET"
BRAND = {
    "name": "zakupowo",
    "terms": ["zakupowo"],
    "service": {
        "business_hours": {
            "timezone": "Europe/Warsaw",
            "hours": {"mon-fri": ["09:00-17:00"]},
            "country": "PL",
        },
        "targets": [{"name": "public_answer", "hours": 2, "business_hours": True, "channel": "public"}],
    },
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """November 2026, Warsaw time (CET, UTC+1)."""
    return datetime(2026, 11, day, hour - 1, minute, tzinfo=UTC)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def message(n: str, when: datetime, text: str, brand: bool = False, thread: str = "post1") -> RawMention:
    return RawMention(
        platform="facebook",
        native_id=n,
        brand="zakupowo",
        author=Author(id="zakupowo" if brand else "anna"),
        text=text,
        created_at=when,
        from_brand=brand,
        thread_id=thread,
        parent_id=thread,
        channel="private" if thread == "dm1" else "public",
    )


CONVERSATION = [
    message("c1", at(10, 16), "Gdzie jest moja paczka z zakupowo?"),  # Tuesday 16:00
    message("b1", at(12, 10), "Sprawdzamy, dajcie nam chwilę.", brand=True),  # Thursday (Wed: holiday)
    message("c2", at(12, 11), "Nadal nic nie wiem."),
    message("c3", at(12, 12), "Halo?"),
    message("b2", at(12, 16, 30), "Przepraszamy, paczka wysłana ponownie.", brand=True),
    message("c4", at(13, 16, 30), "Dalej nie dotarła."),  # Friday 16:30, never answered
    message("d1", at(9, 9), "Czy mogę zmienić adres dostawy?", thread="dm1"),  # private, no target
]
FIRST_RESPONSE = 2 * 3600  # Tue 16:00-17:00, Wed closed, Thu 09:00-10:00
NEXT_RESPONSE = 5.5 * 3600  # from the oldest unanswered (c2, Thu 11:00) to b2 (16:30)
WARNING_DUE = at(16, 10)  # 1.5 business hours after Fri 16:30: Mon 10:00
BREACH_DUE = at(16, 10, 30)


def sla_settings(base: Settings, hook: WebhookReceiver) -> Settings:
    notify = {
        "notifiers": [{"name": "oncall", "type": "webhook", "url": hook.url, "secret_env": SECRET_ENV}],
        "retry": {"initial_s": 0.2, "max_s": 1.0},
    }
    return base.model_copy(
        update={
            "notify": type(base.notify).model_validate(notify),
            "brands": (type(base.brands[0]).model_validate(BRAND),),
            "threads": type(base.threads).model_validate({"sweep_interval_s": 1}),
        }
    )


def report(h: Harness, *options: str) -> list[dict[str, Any]]:
    config = write_config(h.settings, h.folder / "report.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "streams", "--config", str(config), "sla", "report", "--json", *options],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_response_times_and_one_warning_and_one_breach_per_unanswered_message(
    settings: Settings, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.conftest import running

    monkeypatch.setenv(SECRET_ENV, WEBHOOK_SECRET)
    with WebhookReceiver() as hook, running(sla_settings(settings, hook), tmp_path) as h:
        worker = h.start_fake_worker()
        h.produce_mentions(CONVERSATION)
        wait_for(lambda: len(hook.received) >= 2, 180, "the SLA warning and breach", worker)
        time.sleep(4)  # several more sweeps: nothing is sent again
        received = hook.received
        es = h.search()
        names = layout(h.settings.elasticsearch)
        es.indices.refresh(index=names.threads)
        doc = es.get(index=names.threads, id="zakupowo:facebook:post1")["_source"]["flarewatch"]["thread"]

        payloads = [Webhook(WEBHOOK_SECRET).verify(r.body, r.headers) for r in received]
        assert sorted(p["type"] for p in payloads) == ["sla.breach", "sla.warning"]
        assert all(p["data"]["thread_key"] == "zakupowo:facebook:post1" for p in payloads)
        assert {p["data"]["target"] for p in payloads} == {"public_answer"}
        assert {when(p["data"]["due_at"]) for p in payloads} == {WARNING_DUE, BREACH_DUE}
        assert all(when(p["data"]["waiting_since"]) == at(13, 16, 30) for p in payloads)
        # quiet for more than threads.stale_after_hours (72) by now: the sweep marked it stale
        assert doc["status"] == "stale" and when(doc["status_changed_at"]) == at(16, 16, 30)
        assert [c["status"] for c in doc["status_history"]] == [
            "new",
            "awaiting_customer",
            "awaiting_brand",
            "awaiting_customer",
            "awaiting_brand",
            "stale",
        ]
        assert when(doc["awaiting_since"]) == at(13, 16, 30)
        assert doc["sla"]["state"] == "breached" and when(doc["sla"]["due_at"]) == BREACH_DUE
        assert doc["first_response_business_seconds"] == FIRST_RESPONSE

        business = report(h, "--by", "brand", "--business-hours")
        wall = report(h, "--by", "brand")
    assert len(business) == 1 and business[0]["brand"] == "zakupowo"
    row = business[0]
    assert row["threads"] == 2 and row["mentions"] == len(CONVERSATION)
    assert row["response_rate"] == 0.5  # the private question was never answered
    assert row["first_response_median"] == row["first_response_p90"] == FIRST_RESPONSE
    assert row["next_response_median"] == NEXT_RESPONSE
    assert wall[0]["first_response_median"] == (at(12, 10) - at(10, 16)).total_seconds()
    assert wall[0]["clock"] == "wall" and row["clock"] == "business"
    assert row["hotline_redirects"] == row["private_only"] == 0  # the replies made neither mistake


def test_a_thread_resolved_by_command_reopens_on_the_next_customer_message(
    settings: Settings, tmp_path: Any
) -> None:
    import asyncio

    from streams.search.client import async_client, sync_client
    from streams.search.indexer import Indexer
    from streams.search.setup import ensure_layout
    from streams.search.sink import BulkWriter
    from tests.factories import scored

    names = layout(settings.elasticsearch)
    with sync_client(settings.elasticsearch) as client:
        ensure_layout(client, names, now=at(12, 10))

    async def index(batch: list[RawMention]) -> None:
        search = async_client(settings.elasticsearch)
        try:
            assert await Indexer(search, names, BulkWriter(search)).threads([scored(m) for m in batch]) == []
        finally:
            await search.close()

    asyncio.run(index(CONVERSATION[:2]))
    config = write_config(settings, tmp_path / "flarewatch.yaml")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "streams", "--config", str(config), "threads", "resolve", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    done = cli("zakupowo:facebook:post1")
    assert done.returncode == 0 and done.stdout.startswith("zakupowo:facebook:post1: resolved since"), done
    missing = cli("zakupowo:facebook:nothing")
    assert missing.returncode == 1 and "no thread zakupowo:facebook:nothing" in missing.stderr
    es = Elasticsearch(settings.elasticsearch.url)
    doc = es.get(index=names.threads, id="zakupowo:facebook:post1")["_source"]["flarewatch"]["thread"]
    assert doc["status"] == "resolved"
    late = CONVERSATION[2].model_copy(update={"created_at": utc_now() + timedelta(minutes=5)})
    asyncio.run(index([CONVERSATION[2]]))  # written before the resolution: it stays resolved
    doc = es.get(index=names.threads, id="zakupowo:facebook:post1")["_source"]["flarewatch"]["thread"]
    assert doc["status"] == "resolved" and doc["mentions"] == 3
    asyncio.run(index([late.model_copy(update={"native_id": "c9"})]))  # the customer writes again
    doc = es.get(index=names.threads, id="zakupowo:facebook:post1")["_source"]["flarewatch"]["thread"]
    assert doc["status"] == "awaiting_brand" and when(doc["awaiting_since"]) == late.created_at
    assert [c["status"] for c in doc["status_history"]][-2:] == ["resolved", "awaiting_brand"]

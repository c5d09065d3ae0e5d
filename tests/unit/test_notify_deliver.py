"""The Deliverer: retries, timeouts, Retry-After, records, skips, muting, routing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from streams.config.notifiers import RouteSettings
from streams.contracts.incidents import Delivery, IncidentEvent, IncidentState
from streams.notify.deliver import Deliverer, RetryPolicy
from streams.notify.notifier import SendResult
from streams.notify.store import MemoryDeliveryStore
from streams.notify.webhook import WebhookNotifier
from tests.notify_servers import HANG, WEBHOOK_SECRET, Reply, WebhookReceiver, incident_event

FAST = RetryPolicy(max_attempts=6, initial_s=0.01, max_s=0.05, max_elapsed_s=2.0, attempt_timeout_s=1.0)


class Calls:
    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.deliveries: list[Delivery] = []

    def attempt(self, notifier: str, outcome: str) -> None:
        self.attempts[f"{notifier}:{outcome}"] += 1


def deliverer(url: str, store: MemoryDeliveryStore, calls: Calls, policy: RetryPolicy = FAST) -> Deliverer:
    notifier = WebhookNotifier("hook", url, WEBHOOK_SECRET)
    return Deliverer(notifier, store, policy, calls.attempt, calls.deliveries.append)


def test_three_500s_then_200_deliver_once_after_four_attempts() -> None:
    store, calls, event = MemoryDeliveryStore(), Calls(), incident_event()

    async def scenario() -> Delivery | None:
        async with WebhookReceiver([500, 500, 500, 200]) as hook:
            first = await deliverer(hook.url, store, calls).deliver(event)
            again = await deliverer(hook.url, store, calls).deliver(event)  # a redelivery
            assert again == first
            assert len(hook.received) == 4
            assert {r.headers["webhook-id"] for r in hook.received} == {event.event_id}
            return first

    record = asyncio.run(scenario())
    assert record is not None
    assert (record.status, record.attempts, record.response_status) == ("delivered", 4, 200)
    assert record.delivery_id == f"{event.event_id}:hook" and record.version == 1
    assert record.last_error is not None and "HTTP 500" in record.last_error
    assert record.first_attempt_at is not None and record.first_attempt_at <= record.finished_at
    assert calls.attempts == Counter({"hook:retry": 3, "hook:ok": 1})
    assert calls.deliveries == [record] and list(store.records.values()) == [record]


def test_a_400_fails_at_once_with_its_status_and_reason() -> None:
    store, calls = MemoryDeliveryStore(), Calls()

    async def scenario() -> Delivery | None:
        async with WebhookReceiver([Reply(400, "bad payload"), 200]) as hook:
            record = await deliverer(hook.url, store, calls).deliver(incident_event())
            assert len(hook.received) == 1
            return record

    record = asyncio.run(scenario())
    assert record is not None
    assert (record.status, record.attempts, record.response_status) == ("failed", 1, 400)
    assert record.last_error == "HTTP 400: bad payload"
    assert calls.attempts == Counter({"hook:rejected": 1})


def test_retry_after_on_429_is_honoured_and_capped() -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    async def scenario() -> None:
        async with WebhookReceiver(
            [Reply(429, headers={"Retry-After": "7"}), Reply(503, headers={"Retry-After": "3600"}), 200]
        ) as hook:
            notifier = WebhookNotifier("hook", hook.url, WEBHOOK_SECRET)
            policy = RetryPolicy(max_attempts=5, initial_s=0.01, max_s=30.0, max_elapsed_s=60.0)
            record = await Deliverer(notifier, MemoryDeliveryStore(), policy, sleep=no_wait).deliver(
                incident_event()
            )
            assert record is not None and record.status == "delivered" and record.attempts == 3

    asyncio.run(scenario())
    assert waits == [7.0, 30.0]


def test_the_backoff_grows_with_jitter_up_to_max() -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    async def scenario() -> None:
        async with WebhookReceiver(default=500) as hook:
            notifier = WebhookNotifier("hook", hook.url, WEBHOOK_SECRET)
            policy = RetryPolicy(max_attempts=8, initial_s=1.0, max_s=8.0, max_elapsed_s=1000.0)
            record = await Deliverer(notifier, MemoryDeliveryStore(), policy, sleep=no_wait).deliver(
                incident_event()
            )
            assert record is not None and (record.status, record.attempts) == ("failed", 8)
            assert record.response_status == 500

    asyncio.run(scenario())
    ceilings = [1, 2, 4, 8, 8, 8, 8]
    assert len(waits) == 7
    assert all(0.5 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len(set(waits)) == 7  # jittered


def test_a_hanging_receiver_times_out_and_fails_within_max_elapsed() -> None:
    calls = Calls()
    policy = RetryPolicy(
        max_attempts=100, initial_s=0.01, max_s=0.02, max_elapsed_s=0.3, attempt_timeout_s=0.08
    )

    async def scenario() -> Delivery | None:
        async with WebhookReceiver(default=HANG) as hook:
            started = time.monotonic()
            record = await deliverer(hook.url, MemoryDeliveryStore(), calls, policy).deliver(incident_event())
            assert time.monotonic() - started < 0.8  # max_elapsed_s plus one short attempt, with slack
            return record

    record = asyncio.run(scenario())
    assert record is not None and record.status == "failed"
    assert record.attempts >= 3 and record.response_status is None
    assert record.last_error is not None and "no answer within" in record.last_error
    assert calls.attempts == Counter({"hook:timeout": record.attempts})


def test_an_already_recorded_event_is_not_sent_again() -> None:
    store, calls, event = MemoryDeliveryStore(), Calls(), incident_event()

    async def scenario() -> None:
        async with WebhookReceiver([400]) as hook:
            failed = await deliverer(hook.url, store, calls).deliver(event)
            assert failed is not None and failed.status == "failed"
            assert await deliverer(hook.url, store, calls).deliver(event) == failed
            assert len(hook.received) == 1
            other = await deliverer(hook.url, store, calls).deliver(incident_event(IncidentState.RESOLVED, 2))
            assert other is not None and other.status == "delivered" and len(hook.received) == 2

    asyncio.run(scenario())
    assert len(calls.deliveries) == 2


def test_an_event_not_to_page_is_recorded_muted_and_not_sent() -> None:
    store, calls = MemoryDeliveryStore(), Calls()

    async def scenario() -> Delivery | None:
        async with WebhookReceiver() as hook:
            record = await deliverer(hook.url, store, calls).deliver(incident_event(page=False))
            assert hook.received == []
            return record

    record = asyncio.run(scenario())
    assert record is not None and (record.status, record.attempts, record.first_attempt_at) == (
        "muted",
        0,
        None,
    )
    assert calls.attempts == Counter() and calls.deliveries == [record]


class Broken:
    name, type = "broken", "test"

    async def send(self, event: IncidentEvent) -> SendResult:
        raise KeyError("a bug")


def test_an_unexpected_error_is_a_failed_delivery_not_an_exception() -> None:
    calls = Calls()
    record = asyncio.run(
        Deliverer(Broken(), MemoryDeliveryStore(), FAST, calls.attempt).deliver(incident_event())
    )
    assert record is not None and record.status == "failed" and record.attempts == 1
    assert record.last_error == "KeyError: 'a bug'"
    assert calls.attempts == Counter({"broken:rejected": 1})


@pytest.mark.parametrize(
    ("brands", "min_severity", "severity", "wanted"),
    [
        (None, "watch", "watch", True),
        (("acme",), "warning", "warning", True),
        (("acme",), "critical", "warning", False),
        (("other",), "watch", "critical", False),
    ],
)
def test_routes_decide_whether_this_notifier_gets_the_event(
    brands: tuple[str, ...] | None, min_severity: str, severity: str, wanted: bool
) -> None:
    store = MemoryDeliveryStore()
    route = RouteSettings.model_validate(
        {"notifiers": ["hook"], "brands": brands, "min_severity": min_severity}
    )

    async def scenario() -> None:
        async with WebhookReceiver() as hook:
            notifier = WebhookNotifier("hook", hook.url, WEBHOOK_SECRET)
            record = await Deliverer(notifier, store, FAST, routes=[route]).deliver(
                incident_event(severity=severity)  # type: ignore[arg-type]
            )
            assert (record is not None) is wanted
            assert len(hook.received) == int(wanted) == len(store.records)

    asyncio.run(scenario())


def test_a_cancelled_delivery_records_nothing_so_it_is_retried_on_redelivery() -> None:
    store, calls = MemoryDeliveryStore(), Calls()

    async def scenario() -> None:
        async with WebhookReceiver([HANG]) as hook:
            task = asyncio.create_task(deliverer(hook.url, store, calls).deliver(incident_event()))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert store.records == {} and calls.attempts == Counter()
            record = await deliverer(hook.url, store, calls).deliver(incident_event())
            assert record is not None and record.status == "delivered" and len(hook.received) == 2

    asyncio.run(scenario())

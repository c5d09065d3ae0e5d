"""Delivering incident events to one notifier, with retries and a durable record of each outcome.

The exactly-once contract (per incident version and notifier):

- A delivery is keyed ``delivery_id = event_id:notifier`` (``event_id`` = ``incident_id:v<version>``).
  :meth:`Deliverer.deliver` first looks the key up in the :class:`DeliveryStore` and returns the
  stored record without sending when there is one (delivered, failed or muted): a redelivered
  event, a replay after a restart, or a second worker never sends again what was recorded.
- The record is written after the outcome is known (``put`` returns once it is searchable), and the
  caller commits the event's offset only after ``deliver`` returns.
- The incidents topic is keyed by incident id, so one consumer owns a given incident at a time and
  its versions are delivered in order; two workers side by side split the partitions, not the
  incidents.
- The one window left: a crash, a cancellation at shutdown, or a partition handed over in a
  rebalance, after the receiver took the message and before the record was written, repeats that
  one send when the event is consumed again. Receivers dedupe it: the
  webhook carries the same ``webhook-id`` (the event id) on every try, PagerDuty folds it into the
  same alert by ``dedup_key`` (the incident id), e-mail carries the same ``Message-ID``; a Slack
  message may show twice. So: at least once on the wire, exactly once in the records, and exactly
  once for every receiver that dedupes.

Retries: tenacity, exponential backoff with full jitter from ``initial_s`` (at least half of it) up
to ``max_s``; a ``Retry-After`` is honoured, capped at ``max_s``; each attempt cut at
``attempt_timeout_s``; :class:`Retryable` failures (timeouts, connection errors, 408, 429, 5xx) are
retried until ``max_attempts`` or ``max_elapsed_s``, then the delivery is recorded ``failed``;
:class:`Rejected` (other 4xx, refused credentials) is recorded ``failed`` at once. A notifier's
failure never raises out of ``deliver``; a store failure does (the caller retries the event).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from streams.config.notifiers import NotifySettings, RetrySettings, RouteSettings
from streams.contracts.incidents import Delivery, DeliveryStatus
from streams.contracts.records import utc_now
from streams.contracts.sla import Alert, subject
from streams.notify.factory import build_notifiers
from streams.notify.notifier import Notifier, Rejected, Retryable
from streams.notify.routing import routed
from streams.notify.store import DeliveryStore

__all__ = ["Deliverer", "Outcome", "RetryPolicy", "build_deliverers", "build_notifiers", "retry_policy"]

log = logging.getLogger(__name__)

Outcome = Literal["ok", "retry", "rejected", "timeout"]
"""One attempt's outcome (``retry``: a retryable failure, whether or not another attempt follows)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 30
    initial_s: float = 1.0
    max_s: float = 60.0
    max_elapsed_s: float = 1800.0
    attempt_timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: RetrySettings) -> RetryPolicy:
        return cls(**settings.model_dump())


def retry_policy(settings: RetrySettings) -> RetryPolicy:
    return RetryPolicy.from_settings(settings)


@dataclass(slots=True)
class _Tally:
    attempts: int = 0
    first_at: datetime | None = None
    last_error: str | None = None
    status: int | None = None


def _ignore(*_: object) -> None:
    pass


class Deliverer:
    """Delivers events to one notifier. One ``deliver`` at a time per incident (the caller's
    partitioning); ``deliver`` calls for different incidents may run concurrently.

    ``on_attempt(notifier_name, outcome)`` is called after every attempt, ``on_delivery(record)``
    after every record written (not for a skipped, already-recorded event); both must not block.
    ``routes``: when given, events the routes do not send to this notifier are not delivered nor
    recorded (``deliver`` returns None)."""

    def __init__(
        self,
        notifier: Notifier,
        store: DeliveryStore,
        policy: RetryPolicy | None = None,
        on_attempt: Callable[[str, str], None] = _ignore,
        on_delivery: Callable[[Delivery], None] = _ignore,
        routes: Sequence[RouteSettings] = (),
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.notifier = notifier
        self.store = store
        self.policy = policy or RetryPolicy()
        self.on_attempt = on_attempt
        self.on_delivery = on_delivery
        self.routes = tuple(routes)
        self._sleep = sleep
        self._clock = clock

    def wants(self, event: Alert) -> bool:
        return bool(routed(event, [self.notifier.name], self.routes))

    def delivery_id(self, event: Alert) -> str:
        return f"{event.event_id}:{self.notifier.name}"

    async def deliver(self, event: Alert) -> Delivery | None:
        """The event's delivery record: the stored one when there is one, else the outcome of
        sending it now (``muted`` without sending when ``event.page`` is False). None when the
        routes do not send it here. May take up to ``max_elapsed_s`` plus one attempt."""
        if not self.wants(event):
            return None
        stored = await self.store.get(self.delivery_id(event))
        if stored is not None:
            return stored
        tally = _Tally()
        status: DeliveryStatus = "muted"
        if event.page:
            status = await self._send(event, tally)
        record = self._record(event, status, tally)
        await self.store.put(record)
        self.on_delivery(record)
        self._log(record)
        return record

    async def _send(self, event: Alert, tally: _Tally) -> DeliveryStatus:
        p = self.policy
        deadline = time.monotonic() + p.max_elapsed_s
        retrying = AsyncRetrying(
            stop=stop_after_attempt(p.max_attempts) | stop_before_delay(p.max_elapsed_s),
            wait=self._wait,
            retry=retry_if_exception_type(Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._attempt(event, tally, deadline)
        except (Retryable, Rejected):
            return "failed"
        return "delivered"

    async def _attempt(self, event: Alert, tally: _Tally, deadline: float) -> None:
        tally.attempts += 1
        tally.first_at = tally.first_at or self._clock()
        timeout = max(0.01, min(self.policy.attempt_timeout_s, deadline - time.monotonic()))
        outcome: Outcome | None = None  # None: cancelled (shutting down), not an attempt's end
        try:
            async with asyncio.timeout(timeout):
                result = await self.notifier.send(event)
            outcome, tally.status = "ok", result.status
        except TimeoutError:
            outcome = "timeout"
            tally.last_error, tally.status = f"no answer within {timeout:.3g}s", None
            raise Retryable(tally.last_error) from None
        except Retryable as exc:
            outcome = "retry"
            tally.last_error, tally.status = exc.reason, exc.status
            raise
        except Rejected as exc:
            outcome = "rejected"
            tally.last_error, tally.status = exc.reason, exc.status
            raise
        except Exception as exc:
            outcome = "rejected"
            tally.last_error, tally.status = f"{type(exc).__name__}: {exc}", None
            raise Rejected(tally.last_error) from exc
        finally:
            if outcome is not None:
                self.on_attempt(self.notifier.name, outcome)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, Retryable) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_s)
        p = self.policy
        return wait_random_exponential(multiplier=p.initial_s, max=p.max_s, min=p.initial_s / 2)(state)

    def _record(self, event: Alert, status: DeliveryStatus, tally: _Tally) -> Delivery:
        incident_id, version = subject(event)
        return Delivery(
            delivery_id=self.delivery_id(event),
            event_id=event.event_id,
            incident_id=incident_id,
            version=version,
            type=event.type,
            notifier=self.notifier.name,
            notifier_type=self.notifier.type,
            status=status,
            attempts=tally.attempts,
            last_error=tally.last_error,
            response_status=tally.status,
            first_attempt_at=tally.first_at,
            finished_at=self._clock(),
        )

    @staticmethod
    def _log(record: Delivery) -> None:
        level = logging.WARNING if record.status == "failed" else logging.INFO
        log.log(
            level,
            "delivery id=%s status=%s attempts=%d response=%s error=%s",
            record.delivery_id,
            record.status,
            record.attempts,
            record.response_status,
            record.last_error,
        )


def build_deliverers(
    settings: NotifySettings,
    store: DeliveryStore,
    on_attempt: Callable[[str, str], None] = _ignore,
    on_delivery: Callable[[Delivery], None] = _ignore,
    environ: Mapping[str, str] | None = None,
) -> list[Deliverer]:
    """One :class:`Deliverer` per configured notifier, with the settings' routes and retry policy.
    Reads the secrets now: raises NotifierConfigError when one is missing."""
    policy = retry_policy(settings.retry)
    return [
        Deliverer(n, store, policy, on_attempt, on_delivery, settings.routes)
        for n in build_notifiers(settings, environ)
    ]

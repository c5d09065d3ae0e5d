"""The one interface every notifier implements, and what a send may end in.

A notifier turns one :class:`IncidentEvent` or SLA alert (:class:`SlaEvent`) into one message on
an external system. It neither retries nor records: the :class:`~streams.notify.deliver.Deliverer` does both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from streams.contracts.sla import Alert


@dataclass(frozen=True, slots=True)
class SendResult:
    """A message the receiver accepted."""

    status: int | None = None
    """The receiver's status code (HTTP, or SMTP's 250)."""
    detail: str = ""


class Retryable(Exception):
    """The receiver may take the message later: a timeout, a refused connection, 408, 429, 5xx.
    ``retry_after``: seconds the receiver asked to wait (``Retry-After``), None when it did not say."""

    def __init__(self, reason: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.status = status


class Rejected(Exception):
    """The receiver refused the message for good (a 4xx other than 408/429, bad credentials):
    sending it again would fail again."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Notifier(Protocol):
    """Sends incident events to one destination.

    ``send`` may take as long as the receiver does (the caller bounds it with a timeout and may
    cancel it); it returns when the receiver accepted the message and raises :class:`Retryable` or
    :class:`Rejected` otherwise, never anything else for a receiver's failure. It holds no
    connection between calls, so it needs no closing."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    async def send(self, event: Alert) -> SendResult: ...


def check_http(status: int, headers: Mapping[str, str], body: str) -> SendResult:
    """A 2xx is a success; 408, 429 and 5xx are :class:`Retryable` (honouring ``Retry-After``);
    anything else is :class:`Rejected`."""
    if 200 <= status < 300:
        return SendResult(status, body[:200])
    reason = f"HTTP {status}: {body.strip()[:300] or 'no body'}"
    if status in (408, 429) or status >= 500:
        raise Retryable(reason, retry_after_seconds(headers.get("Retry-After")), status)
    raise Rejected(reason, status)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())

"""Idempotent bulk writes to Elasticsearch that back off and retry instead of dropping.

Transient failures (429, 5xx, connection errors, timeouts) are retried with exponential backoff,
without limit: the caller does not move on, so the stream does not commit. Documents the server
rejects for good (a 400 mapping error, say) come back as :class:`Rejected` for the dead-letter
topic. Every document has a deterministic ``_id``, so a retried or replayed write overwrites.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    ConnectionError,
    ConnectionTimeout,
    TransportError,
)

log = logging.getLogger("flarewatch.search")
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor**attempt)
        return base * random.uniform(0.8, 1.2)


@dataclass(frozen=True, slots=True)
class Action:
    op: str
    """``index``, ``create`` or ``update`` (``source`` is then the update body: ``doc``, ``upsert``...)."""
    index: str
    id: str
    source: dict[str, Any]
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    version: int | None = None
    """Written only over a document of this version or older (``external_gte``): an older
    version replayed after a newer one answers 409 instead of overwriting it."""

    def header(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"_index": self.index, "_id": self.id}
        if self.if_seq_no is not None:
            meta["if_seq_no"] = self.if_seq_no
            meta["if_primary_term"] = self.if_primary_term
        if self.version is not None:
            meta["version"] = self.version
            meta["version_type"] = "external_gte"
        return {self.op: meta}


@dataclass(frozen=True, slots=True)
class Rejected:
    action: Action
    status: int
    reason: str


@dataclass(slots=True)
class Outcome:
    rejected: list[Rejected] = field(default_factory=list)
    conflicts: list[Action] = field(default_factory=list)
    """Version conflicts (409): the caller re-reads and tries again."""
    retries: int = 0


class BulkWriter:
    """Bulk writes (and the reads they depend on) that wait out transient failures."""

    def __init__(
        self,
        client: AsyncElasticsearch,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], Any] = asyncio.sleep,
        on_retry: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.backoff = backoff
        self.sleep = sleep
        self.on_retry = on_retry
        """Called before every back-off (for the retry counter on /metrics)."""

    async def write(self, actions: Sequence[Action]) -> Outcome:
        """Returns once every action is acknowledged, rejected for good, or in conflict.

        Raises only for a non-transient error of the whole request (a 400 for the body, say).
        """
        outcome = Outcome()
        pending = list(actions)
        attempt = 0
        while pending:
            started = time.monotonic()
            body = _body(pending)
            response = await self.retrying(
                functools.partial(self.client.bulk, operations=body), f"{len(pending)} documents", outcome
            )
            throttled = self._sort(pending, response.body.get("items", []), outcome)
            if len(throttled) < len(pending):
                attempt = 0  # the server took some: it is keeping up, so back off from the start
            pending = throttled
            if pending:
                await self._pause(attempt, f"throttled {len(pending)} items", outcome)
                attempt += 1
            else:
                log.debug("bulk ok actions=%d ms=%.0f", len(actions), 1000 * (time.monotonic() - started))
        return outcome

    async def retrying(
        self, call: Callable[[], Awaitable[T]], what: str, outcome: Outcome | None = None
    ) -> T:
        """``await call()`` until it succeeds, backing off after 408, 429, 5xx, connection errors
        and timeouts, without limit. Other errors are raised at once."""
        attempt = 0
        while True:
            try:
                return await call()
            except (ConnectionError, ConnectionTimeout) as exc:
                why = f"unavailable ({type(exc).__name__}: {exc})"
            except ApiError as exc:
                if exc.status_code not in TRANSIENT_STATUS:
                    raise
                why = f"answered HTTP {exc.status_code}"
            except TransportError as exc:
                why = f"failed ({exc})"
            await self._pause(attempt, f"{why}; retrying {what}", outcome)
            attempt += 1

    async def _pause(self, attempt: int, why: str, outcome: Outcome | None) -> None:
        delay = self.backoff.delay(attempt)
        log.warning("search server %s in %.1fs (attempt %d)", why, delay, attempt + 1)
        if outcome is not None:
            outcome.retries += 1
        self.on_retry()
        await self.sleep(delay)

    def _sort(self, actions: list[Action], items: list[dict[str, Any]], outcome: Outcome) -> list[Action]:
        retry: list[Action] = []
        for action, item in zip(actions, items, strict=True):
            result = next(iter(item.values()))
            status = int(result.get("status", 500))
            if status < 300:
                continue
            if status == 409:
                outcome.conflicts.append(action)
            elif status in TRANSIENT_STATUS:
                retry.append(action)
            else:
                error = result.get("error", {})
                if not isinstance(error, dict):
                    error = {"type": "error", "reason": str(error)}
                reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
                outcome.rejected.append(Rejected(action, status, reason))
        return retry


def _body(actions: Sequence[Action]) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    for action in actions:
        body.append(action.header())
        body.append(action.source)
    return body

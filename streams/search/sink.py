"""Idempotent bulk writes to Elasticsearch that back off and retry instead of dropping.

Transient failures (429, 5xx, connection errors, timeouts) are retried with exponential backoff,
without limit: the caller does not move on, so the stream does not commit. Documents the server
rejects for good (a 400 mapping error, say) come back as :class:`Rejected` for the dead-letter
topic. Every document has a deterministic ``_id``, so a retried or replayed write overwrites.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    ConnectionError,
    ConnectionTimeout,
    TransportError,
)

log = logging.getLogger("flarewatch.search")
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


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
    """``index`` or ``create``."""
    index: str
    id: str
    source: dict[str, Any]
    if_seq_no: int | None = None
    if_primary_term: int | None = None

    def header(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"_index": self.index, "_id": self.id}
        if self.if_seq_no is not None:
            meta["if_seq_no"] = self.if_seq_no
            meta["if_primary_term"] = self.if_primary_term
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
    def __init__(
        self,
        client: AsyncElasticsearch,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.backoff = backoff
        self.sleep = sleep

    async def write(self, actions: Sequence[Action]) -> Outcome:
        """Returns once every action is acknowledged, rejected for good, or in conflict."""
        outcome = Outcome()
        pending = list(actions)
        attempt = 0
        while pending:
            started = time.monotonic()
            try:
                response = await self.client.bulk(operations=_body(pending))
            except (ConnectionError, ConnectionTimeout) as exc:
                pending, attempt = await self._retry(pending, attempt, f"unavailable: {exc}", outcome)
                continue
            except ApiError as exc:
                if exc.status_code not in TRANSIENT_STATUS:
                    raise
                pending, attempt = await self._retry(pending, attempt, f"HTTP {exc.status_code}", outcome)
                continue
            except TransportError as exc:
                pending, attempt = await self._retry(pending, attempt, str(exc), outcome)
                continue
            pending = self._sort(pending, response.body.get("items", []), outcome)
            if pending:
                pending, attempt = await self._retry(
                    pending, attempt, f"{len(pending)} items throttled", outcome
                )
            else:
                log.debug("bulk ok actions=%d ms=%.0f", len(actions), 1000 * (time.monotonic() - started))
        return outcome

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

    async def _retry(
        self, pending: list[Action], attempt: int, why: str, outcome: Outcome
    ) -> tuple[list[Action], int]:
        delay = self.backoff.delay(attempt)
        log.warning(
            "search server %s; retrying %d documents in %.1fs (attempt %d)",
            why,
            len(pending),
            delay,
            attempt + 1,
        )
        outcome.retries += 1
        await self.sleep(delay)
        return pending, attempt + 1


def _body(actions: Sequence[Action]) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    for action in actions:
        body.append(action.header())
        body.append(action.source)
    return body

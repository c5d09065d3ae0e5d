"""What a collector source is, for the runner that polls it (:mod:`streams.collectors.runner`).

A source (one brand's Facebook page, one brand's X search, one feed...) turns a poll into
:class:`Batch` es of raw mentions in order. Each batch carries the source's checkpoint *after*
it: the runner publishes the batch, waits for the broker's acknowledgement, and only then
stores that checkpoint. So a source must be able to resume from any checkpoint it yielded and
must not yield an item again once a later checkpoint was stored; an item may be yielded again
after a checkpoint that does not cover it (a crash before the acknowledgement).

Sources do their own HTTP (:mod:`streams.collectors.http`) and wait out their own rate limits
with the context's ``sleep`` (counted in :class:`Stats`); a source that cannot go on (token
expired, permission missing) raises :class:`SourceStopped` with one line for the operator.
Filtering by tracking rule, language and noise is the runner's, not the source's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from streams.contracts.records import RawMention

Family = Literal["pages", "search", "feeds", "webhooks"]
Checkpoint = Mapping[str, Any]
"""JSON-serialisable state of one source; None before its first poll."""


@dataclass(frozen=True, slots=True)
class Removal:
    """A mention the platform no longer shows: deleted or hidden by the page or its author (a
    webhook ``remove``/``hide`` verb, or an item gone on the next poll)."""

    mention_id: str
    """``platform:native_id``, as :attr:`RawMention.mention_id`."""
    brand: str
    removed_at: datetime
    removed_by: Literal["page", "author"] | None = None
    """Who removed it, when the platform says."""
    hidden: bool = False
    """Hidden from the public (still there for the page) rather than deleted."""
    created_at: datetime | None = None
    """When the mention was written, when known (it says which monthly index holds it)."""


@dataclass(frozen=True, slots=True)
class Batch:
    mentions: tuple[RawMention, ...]
    checkpoint: Checkpoint | None
    """The source's state once these mentions (and all batches before) are published; None: no
    change."""
    removals: tuple[Removal, ...] = ()


class SourceStopped(Exception):
    """The source cannot go on without a person: an expired or invalid token, a missing
    permission. ``str()`` is one line; it never contains a token."""


class Stats(Protocol):
    """The source's side of its metrics; the runner counts published, filtered and duplicates."""

    def fetched(self, count: int) -> None:
        """``count`` items came back from the platform (before any filtering)."""
        ...

    def error(self, kind: str) -> None:
        """A failed request: ``kind`` is short and bounded (``http_500``, ``graph_613``,
        ``timeout``), never a message with ids or tokens in it."""
        ...

    def rate_limited(self, seconds: float) -> None:
        """The source is about to sleep ``seconds`` because of a platform's rate limit."""
        ...

    def newest(self, at: datetime) -> None:
        """The newest item seen was written at ``at`` (for the lag behind now)."""
        ...


class NoStats:
    def fetched(self, count: int) -> None:
        pass

    def error(self, kind: str) -> None:
        pass

    def rate_limited(self, seconds: float) -> None:
        pass

    def newest(self, at: datetime) -> None:
        pass


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SourceContext:
    stats: Stats = field(default_factory=NoStats)
    sleep: Callable[[float], None] = field(default=lambda seconds: None)
    """Waits ``seconds`` (rate limits, back-off); the runner's returns early on a stop request."""
    now: Callable[[], datetime] = utc_now
    timeout_s: float = 30.0


class Source(Protocol):
    name: str
    """Unique and stable across restarts, safe in a file name and a metric label:
    ``facebook-zakupowo``, ``x-zakupowo``, ``feed-<hash of URL>``."""
    family: Family
    brand: str | None
    """The brand whose page or account this is; None for a source shared by brands (a feed)."""

    def poll(self, checkpoint: Checkpoint | None, context: SourceContext) -> Iterator[Batch]:
        """One poll, oldest news first where the platform allows; stops when caught up."""
        ...

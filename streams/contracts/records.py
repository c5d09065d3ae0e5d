"""The wire contract: versioned, frozen records that travel between components as JSON.

Every record carries ``schema_version``; timestamps are timezone-aware UTC. Identity is
deterministic: a mention is ``platform:native_id`` everywhere (Kafka key material, Elasticsearch
``_id``), or ``platform:native_id@brand`` when public search found it (one public post may be about
two brands), so replays and retries overwrite instead of duplicating.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from streams.contracts.limits import (
    EARLIEST_MENTION,
    MAX_CLOCK_SKEW,
    MAX_FOLLOWERS,
    MAX_TEXT_CHARS,
)

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must include a timezone (use Z or +00:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp out of range in UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def _plausible(value: datetime) -> datetime:
    if value < EARLIEST_MENTION:
        raise ValueError(f"timestamp before {EARLIEST_MENTION:%Y-%m-%d}")
    if value > utc_now() + MAX_CLOCK_SKEW:
        raise ValueError("timestamp more than a day in the future")
    return value


MentionTime = Annotated[UtcDatetime, AfterValidator(_plausible)]
"""When a mention was written: UTC, not before 1990, at most a day ahead of this clock."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def mention_id(platform: str, native_id: str, source: str, brand: str) -> str:
    """A mention's identity (see :attr:`RawMention.mention_id`). The only place this format is
    written."""
    base = f"{platform}:{native_id}"
    return base if source == Source.ADDRESSED.value else f"{base}@{brand}"


def thread_key(brand: str, platform: str, root_id: str) -> str:
    """A thread's identity, and (encoded) the partition key of every mention in it, so a thread
    always lands on one partition. The only place this format is written."""
    return f"{brand}:{platform}:{root_id}"


class Record(BaseModel):
    """A frozen wire record. Records sent on a topic on their own carry ``schema_version``, typed
    as the ``Literal`` of the versions this code reads (the default is the one it writes), so each
    record moves to a new version on its own."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False, allow_inf_nan=False)

    @classmethod
    def schema_versions(cls) -> tuple[int, ...]:
        """The schema versions this code reads; () for a record that only travels inside another."""
        field = cls.model_fields.get("schema_version")
        return get_args(field.annotation) if field is not None else ()


class Platform(StrEnum):
    FACEBOOK = "facebook"
    MESSENGER = "messenger"
    X = "x"
    INSTAGRAM = "instagram"
    FORUM = "forum"
    REVIEW = "review"
    NEWS = "news"
    OTHER = "other"


class Source(StrEnum):
    ADDRESSED = "addressed"
    """Posted on the brand's own page or sent to it: comments, messages, replies, @mentions."""
    SEARCH = "search"
    """Found by public search: talk about the brand where it was not addressed."""


class Channel(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class Author(Record):
    id: Identifier
    name: str | None = Field(default=None, max_length=256)
    followers: int | None = Field(default=None, ge=0, le=MAX_FOLLOWERS)
    """Follower count when the platform reports it."""


class RawMention(Record):
    schema_version: Literal[1] = 1
    platform: Platform
    native_id: Identifier
    brand: Identifier
    author: Author
    text: str = Field(max_length=MAX_TEXT_CHARS)
    url: str | None = Field(default=None, max_length=2048)
    created_at: MentionTime
    parent_id: Identifier | None = None
    """Native id of the post or comment this one replies to."""
    thread_id: Identifier | None = None
    """Native id of the conversation root; None means this mention starts its own thread."""
    source: Source = Source.ADDRESSED
    from_brand: bool = False
    """The author is the brand itself (a reply by the brand's team)."""
    channel: Channel = Channel.PUBLIC
    lang: str | None = Field(default=None, max_length=16)
    """Language hint from the platform, when it gives one."""
    noise: tuple[Annotated[str, StringConstraints(max_length=64)], ...] = Field(default=(), max_length=8)
    """Noise flags set by a collector (``spam:giveaway``, ``spam:link_spam``, ``spam:brand_ad``)
    when noise is kept and flagged rather than dropped."""
    duplicate_of: Identifier | None = None
    """``mention_id`` of the earlier mention this one copies (a repost, a copy-paste campaign)."""
    copies: int | None = Field(default=None, ge=1)
    """With ``duplicate_of``: copies of that original seen so far, this one included."""

    @property
    def mention_id(self) -> str:
        """``platform:native_id``; ``platform:native_id@brand`` for a mention found by public
        search or a feed, since the same post can be a mention of two brands."""
        return mention_id(self.platform.value, self.native_id, self.source.value, self.brand)

    @property
    def thread_key(self) -> str:
        return thread_key(self.brand, self.platform.value, self.thread_id or self.native_id)

    @property
    def partition_key(self) -> bytes:
        """Brand and thread: a thread always lands on one partition."""
        return self.thread_key.encode()


class MentionRemoval(Record):
    """A mention the platform no longer shows: deleted or hidden by the page or its author. It
    becomes an event on the mention's document (which stays searchable): brands that delete
    negative comments feed the anger, and analysts must see it."""

    schema_version: Literal[1] = 1
    mention_id: Identifier
    """``platform:native_id``."""
    brand: Identifier
    removed_at: UtcDatetime
    removed_by: Literal["page", "author"] | None = None
    hidden: bool = False
    """Hidden from the public (the page still sees it) rather than deleted."""
    created_at: UtcDatetime | None = None
    """When the mention was written, when known: which monthly index holds it."""


class Scores(Record):
    lang: str | None
    sentiment: Literal["negative", "neutral", "positive", "unscored"]
    sentiment_scores: dict[str, float]
    complaint: bool
    complaint_score: float | None
    category: str | None
    model: str
    unscored_reason: str | None = None
    uncertain: bool = False
    """Scored below the configured confidence: for the crisis room to review."""


class ScoredMention(Record):
    schema_version: Literal[1] = 1
    mention: RawMention
    scores: Scores
    scored_at: UtcDatetime


ThreadStatus = Literal["new", "awaiting_brand", "awaiting_customer", "resolved", "stale"]
_LEGACY_STATUS = {
    "awaiting_response": "new",
    "answered": "awaiting_customer",
    "brand_only": "awaiting_customer",
}


def _current_status(value: object) -> object:
    """Thread documents written before the status history carry the old three statuses."""
    return _LEGACY_STATUS.get(value, value) if isinstance(value, str) else value


class StatusChange(Record):
    status: ThreadStatus
    at: UtcDatetime


class ThreadTurn(Record):
    """One message of the thread as the status and the response clocks need it (kept internal)."""

    id: str
    at: UtcDatetime
    from_brand: bool
    sentiment: str = "neutral"
    closes: bool = False
    actions: tuple[str, ...] = ()
    removed: bool = False


class SentimentTrajectory(Record):
    first: str
    latest: str
    worst: str


class Thread(Record):
    """A conversation as analysts see it: counts, timing and the brand's first response."""

    schema_version: Literal[1] = 1
    key: str
    brand: str
    platform: Platform
    root_id: str
    channel: Channel
    source: Source
    started_at: UtcDatetime
    last_activity_at: UtcDatetime
    mentions: int
    customer_mentions: int
    brand_replies: int
    negative: int
    complaints: int
    categories: dict[str, int]
    first_customer_at: UtcDatetime | None
    first_response_at: UtcDatetime | None
    first_response_seconds: float | None
    """From the first customer mention to the brand's first reply after it."""
    brand_reply_times: tuple[UtcDatetime, ...] = ()
    """Earliest brand replies (capped), so the first response is right whatever the arrival order."""
    status: Annotated[ThreadStatus, BeforeValidator(_current_status)]
    status_changed_at: UtcDatetime | None = None
    status_history: tuple[StatusChange, ...] = ()
    public: bool = True
    participants: tuple[str, ...] = ()
    """Customers who wrote in the thread (author ids, capped)."""
    sentiment: SentimentTrajectory | None = None
    reply_actions: tuple[str, ...] = ()
    """What the brand's replies did, over all of them (:mod:`models.threads.replies`)."""
    reply_mistakes: tuple[str, ...] = ()
    """``hotline_redirect``, ``private_only``: the commonest mistakes in social customer care."""
    awaiting_since: UtcDatetime | None = None
    """The oldest customer message the brand has not answered yet."""
    removed_mentions: int = 0
    """Messages deleted or hidden on the platform since: they stay in the thread, marked."""
    mention_ids: tuple[str, ...]
    """Ids already counted, so a replayed mention is not counted twice (capped, see threads)."""
    turns: tuple[ThreadTurn, ...] = ()
    resolved_at: tuple[UtcDatetime, ...] = ()
    """Times of resolve commands."""
    alerts_sent: tuple[str, ...] = ()
    """SLA alerts already published for the thread (their event ids), so a sweep sends each once."""


class Stage(StrEnum):
    """Which step gave up on a message (a dead letter's ``stage``)."""

    DECODE = "decode"
    """The raw mention could not be decoded or validated."""
    SCORE = "score"
    INDEX = "index"
    """A scored mention that could not be decoded or that Elasticsearch rejected."""
    THREADS = "threads"
    """The mention was indexed, but its thread document could not be written."""
    DETECT = "detect"
    INCIDENTS = "incidents"
    """A flare signal or incident command the incidents step could not apply."""
    NOTIFY = "notify"
    REMOVALS = "removals"
    """A removal event that could not be read, or whose mention is in no index."""
    """An incident event a notifier's agent could not read."""


class DeadLetter(Record):
    schema_version: Literal[1] = 1
    reason: str
    stage: str
    """Which step gave up: one of :class:`Stage` (a string, so older letters still read)."""
    topic: str
    partition: int
    offset: int
    key_b64: str | None
    value_b64: str
    """The original bytes, base64: kept even when they are not UTF-8."""
    value_size: int = 0
    """Size of the original; above 512 KiB only the first 512 KiB are kept here (the whole
    message stays in its topic at ``partition``/``offset`` for as long as the topic retains it)."""
    value_truncated: bool = False
    failed_at: UtcDatetime

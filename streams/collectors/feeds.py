"""RSS and Atom feeds (forums, review sites, blogs, news): ``flarewatch collect feeds``.

One source per distinct feed URL, shared by every brand that lists it (``brand`` is None): each new
entry becomes one raw mention per listing brand, with that listing's ``platform``. The runner then
keeps, per brand, what the brand's tracking rule matches.

**Fetching.** A conditional GET (urllib3, :class:`~streams.collectors.http.Http`) with the stored
``ETag`` (``If-None-Match``) and ``Last-Modified`` (``If-Modified-Since``); a 304 is "nothing new".
The body goes to ``feedparser`` as a stream (never as a string, which feedparser might take for a
file name or URL), with the answer's headers for its encoding and the feed's URL for relative
links; feedparser sanitises the HTML. A malformed feed (feedparser's ``bozo`` with no entries) is
counted (``feed_malformed``) and logged in one line, and the poll ends without a checkpoint change.

**Entries.** ``native_id``: the entry's id (RSS ``guid``, Atom ``id``), else its link, else a hash of
its title and text. An id that is not an absolute URI (``1234``, ``post-5``: many forums number
their own posts) is prefixed with the source's name, so that two forums' post 1234 stay two
mentions; one over 128 characters is replaced by a hash of it. ``text``: the title, a blank line
and the summary (or the content), HTML reduced to text. ``created_at``: published, else updated,
else when first seen; ``author``: the entry's author name (its id too: feeds have no user ids),
else the site's host name. Source ``search``, channel ``public``; ``lang`` from the feed's
``language``.

**Checkpoint**: ``{"etag", "last_modified", "seen": {native_id: first seen, epoch seconds}}``.
An entry is published once: ``seen`` keeps every id in the last fetch, however old (a forum may
keep a thread's entry for weeks), and others for ``retention`` (30 days), at most
:data:`MAX_SEEN` of them.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import urlsplit

import feedparser
from pydantic import ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from streams.collectors.http import Http, Response, Unreachable, without_query
from streams.collectors.source import Batch, Checkpoint, Family, SourceContext, SourceStopped
from streams.config.settings import Settings
from streams.contracts.limits import EARLIEST_MENTION, MAX_CLOCK_SKEW, MAX_TEXT_CHARS
from streams.contracts.records import Author, Channel, Platform, RawMention, Source

log = logging.getLogger(__name__)

MAX_ID_CHARS: Final = 128
MAX_SEEN: Final = 20_000
"""The most entry ids a checkpoint remembers (those in the last fetch always among them)."""
DEFAULT_RETENTION: Final = timedelta(days=30)
MAX_RETRY_AFTER_S: Final = 3600.0
STOPPING_STATUSES: Final = frozenset({401, 403, 404, 410})
"""Answers a person must look at (credentials, a moved or removed feed): the source stops."""
_URI: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S")
_LANGUAGE: Final = re.compile(r"^[a-z]{2,3}$")
PLATFORMS: Final = {
    "forum": Platform.FORUM,
    "review": Platform.REVIEW,
    "news": Platform.NEWS,
    "other": Platform.OTHER,
}


def feed_name(url: str) -> str:
    """``feed-`` and the first 12 hex digits of the URL's SHA-256: stable, safe in a file name."""
    return "feed-" + hashlib.sha256(url.encode()).hexdigest()[:12]


class FeedUnavailable(Unreachable):
    """The feed's server kept failing (5xx, 429, no answer) after the bounded retries."""

    def __init__(self, message: str, kind: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.wait_s = wait_s
        """How long the server asked us to wait (``Retry-After``), if it did."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff_s: float = 2.0
    backoff_max_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Listing:
    """A brand that lists the feed, and what kind of site the feed is for it."""

    brand: str
    platform: Platform


@dataclass(frozen=True, slots=True)
class _State:
    etag: str | None = None
    last_modified: str | None = None
    seen: Mapping[str, int] | None = None

    @classmethod
    def of(cls, checkpoint: Checkpoint | None) -> _State:
        if not checkpoint:
            return cls(seen={})
        etag, modified, seen = (checkpoint.get(k) for k in ("etag", "last_modified", "seen"))
        return cls(
            etag if isinstance(etag, str) else None,
            modified if isinstance(modified, str) else None,
            {str(k): int(v) for k, v in seen.items() if isinstance(v, int)} if isinstance(seen, dict) else {},
        )

    def checkpoint(self) -> dict[str, Any]:
        return {"etag": self.etag, "last_modified": self.last_modified, "seen": dict(self.seen or {})}


class FeedSource:
    """One feed URL, read for every brand that lists it (see the module's notes)."""

    family: Family = "feeds"

    def __init__(
        self,
        url: str,
        listings: Sequence[Listing],
        *,
        http: Http | None = None,
        policy: RetryPolicy | None = None,
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self.url = url
        self.name = feed_name(url)
        self.brand: str | None = None
        self.listings = tuple(listings)
        self._shown = without_query(url)
        """The URL for messages: its query may hold a private feed's key."""
        self._http = http
        self._policy = policy or RetryPolicy()
        self._retention = retention

    def __repr__(self) -> str:
        return f"FeedSource({self.name!r}, {self._shown!r}, brands={[x.brand for x in self.listings]})"

    # -- polling -----------------------------------------------------------------------------

    def poll(self, checkpoint: Checkpoint | None, context: SourceContext) -> Iterator[Batch]:
        """One conditional GET; at most one batch: the new entries, oldest first."""
        state = _State.of(checkpoint)
        response = self._fetch(state, context)
        if response is None:
            return
        if response.status == 304:
            context.stats.fetched(0)
            return
        parsed = feedparser.parse(
            io.BytesIO(response.body), response_headers={**response.headers, "content-location": self.url}
        )
        entries = [e for e in parsed.get("entries", []) if isinstance(e, Mapping)]
        if parsed.get("bozo") and not entries:
            context.stats.error("feed_malformed")
            reason = _one_line(str(parsed.get("bozo_exception") or "no entries"))
            log.warning("%s: %s is not a feed that can be read (%s)", self.name, self._shown, reason)
            return
        context.stats.fetched(len(entries))
        now = context.now()
        seen = dict(state.seen or {})
        present: dict[str, int] = {}
        mentions: list[RawMention] = []
        language = _language(parsed.get("feed", {}).get("language"))
        for entry in entries:
            native_id = self._native_id(entry)
            if native_id in present:
                continue
            present[native_id] = seen.get(native_id, int(now.timestamp()))
            if native_id not in seen:
                mentions += self._mentions(entry, native_id, language, now, context)
        after = _State(
            response.headers.get("etag"),
            response.headers.get("last-modified"),
            self._bounded(seen, present, now),
        )
        mentions.sort(key=lambda m: m.created_at)
        if mentions:
            context.stats.newest(mentions[-1].created_at)
        if mentions or after != state:
            yield Batch(tuple(mentions), after.checkpoint())

    def _bounded(self, seen: Mapping[str, int], present: Mapping[str, int], now: datetime) -> dict[str, int]:
        oldest = int((now - self._retention).timestamp())
        kept = {k: t for k, t in seen.items() if t >= oldest and k not in present}
        room = max(0, MAX_SEEN - len(present))
        if len(kept) > room:
            kept = dict(sorted(kept.items(), key=lambda item: item[1], reverse=True)[:room])
        return {**kept, **present}

    # -- entries -----------------------------------------------------------------------------

    def _native_id(self, entry: Mapping[str, Any]) -> str:
        raw = next(
            (v.strip() for v in (entry.get("id"), entry.get("link")) if isinstance(v, str) and v.strip()),
            None,
        )
        if raw is None:
            digest = hashlib.sha256(f"{entry.get('title')}\n{_body(entry)}".encode()).hexdigest()
            return f"{self.name}:{digest[:32]}"
        if not _URI.match(raw):
            raw = f"{self.name}:{raw}"
        if len(raw) > MAX_ID_CHARS or any(c.isspace() for c in raw):
            return f"{self.name}:h{hashlib.sha256(raw.encode()).hexdigest()[:40]}"
        return raw

    def _mentions(
        self,
        entry: Mapping[str, Any],
        native_id: str,
        language: str | None,
        now: datetime,
        context: SourceContext,
    ) -> list[RawMention]:
        title = _text(entry.get("title"), entry.get("title_detail"))
        body = _text(_body(entry), _body_detail(entry))
        text = "\n\n".join(part for part in (title, body) if part)[:MAX_TEXT_CHARS]
        link = _web_link(entry.get("link"))
        author = _author(entry) or urlsplit(link or self.url).hostname or self.name
        try:
            return [
                RawMention(
                    platform=listing.platform,
                    native_id=native_id,
                    brand=listing.brand,
                    author=Author(id=author[:256], name=author[:256]),
                    text=text,
                    url=link,
                    created_at=_written(entry, now),
                    source=Source.SEARCH,
                    channel=Channel.PUBLIC,
                    lang=language,
                )
                for listing in self.listings
            ]
        except ValidationError as exc:
            context.stats.error("bad_item")
            log.warning("%s: skipped entry %s (%s)", self.name, native_id, _one_line(str(exc)))
            return []

    # -- requests ----------------------------------------------------------------------------

    def _fetch(self, state: _State, context: SourceContext) -> Response | None:
        """The answer to a conditional GET (200 or 304); None for an answer worth only a warning."""
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        retrying = Retrying(
            retry=retry_if_exception_type(FeedUnavailable),
            stop=stop_after_attempt(self._policy.attempts),
            wait=lambda retry: self._wait(retry, context),
            sleep=context.sleep,
            reraise=True,
        )
        response: Response = retrying(self._attempt, headers, context)
        status = response.status
        if status in (200, 304):
            return response
        context.stats.error(f"http_{status}")
        if status in STOPPING_STATUSES:
            raise SourceStopped(f"{self.name}: {self._shown} answered {status}: fix or remove the feed")
        log.warning("%s: %s answered %d; trying again next poll", self.name, self._shown, status)
        return None

    def _attempt(self, headers: Mapping[str, str], context: SourceContext) -> Response:
        if self._http is None:
            self._http = Http(timeout_s=context.timeout_s)
        try:
            response = self._http.get(self.url, headers=headers)
        except Unreachable:
            context.stats.error("unreachable")
            raise FeedUnavailable(f"{self.name}: {self._shown} did not answer", "unreachable") from None
        status = response.status
        if status == 429 or status == 408 or status >= 500:
            kind = f"http_{status}"
            context.stats.error(kind)
            wait = _retry_after(response.headers.get("retry-after"), context.now()) if status == 429 else None
            raise FeedUnavailable(f"{self.name}: {self._shown} answered {status}", kind, wait)
        return response

    def _wait(self, retry: RetryCallState, context: SourceContext) -> float:
        outcome = retry.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, FeedUnavailable) and failure.kind == "http_429":
            wait = failure.wait_s if failure.wait_s is not None else 60.0
            context.stats.rate_limited(wait)
            return wait
        first, most = self._policy.backoff_s, self._policy.backoff_max_s
        return float(min(most, first * 2.0 ** (retry.attempt_number - 1)))


# -- text, time and people ------------------------------------------------------------------------


class _Text(HTMLParser):
    """Text of sanitised HTML: scripts and styles dropped, a line break at each block."""

    BLOCKS: Final = frozenset(
        [
            "address",
            "article",
            "blockquote",
            "br",
            "dd",
            "div",
            "dl",
            "dt",
            "figcaption",
            "footer",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hr",
            "li",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "td",
            "th",
            "tr",
            "ul",
        ]
    )
    HIDDEN: Final = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: entities decoded, tags gone, one line per block, spaces
    collapsed."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _text(value: Any, detail: Any) -> str:
    if not isinstance(value, str):
        return ""
    kind = detail.get("type") if isinstance(detail, Mapping) else None
    if kind == "text/plain":
        return " ".join(value.split())
    return html_to_text(value)


def _body(entry: Mapping[str, Any]) -> str:
    summary = entry.get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary
    content = entry.get("content")
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        value = content[0].get("value")
        return value if isinstance(value, str) else ""
    return ""


def _body_detail(entry: Mapping[str, Any]) -> Any:
    summary = entry.get("summary")
    if isinstance(summary, str) and summary.strip():
        return entry.get("summary_detail")
    content = entry.get("content")
    return content[0] if isinstance(content, list) and content else None


def _web_link(value: Any) -> str | None:
    """An http(s) link (feedparser may take an Atom ``tag:`` id for the link) that fits a mention."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    return value if urlsplit(value).scheme in ("http", "https") else None


def _author(entry: Mapping[str, Any]) -> str | None:
    detail = entry.get("author_detail")
    name = detail.get("name") if isinstance(detail, Mapping) else None
    if not isinstance(name, str) or not name.strip():
        name = entry.get("author")
    if not isinstance(name, str):
        return None
    return " ".join(name.split()) or None


def _written(entry: Mapping[str, Any], now: datetime) -> datetime:
    """Published, else updated (feedparser's UTC ``struct_time``); ``now`` when neither is given
    or the date is not plausible."""
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value is None:
            continue
        try:
            year, month, day, hour, minute, second = (int(v) for v in value[:6])
            at = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
        if EARLIEST_MENTION <= at <= now + MAX_CLOCK_SKEW:
            return at
    return now


def _language(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").partition("-")[0]
    return code if _LANGUAGE.match(code) else None


def _retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), at most an hour."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


# -- sources from the settings --------------------------------------------------------------------


def feed_sources(settings: Settings) -> list[FeedSource]:
    """One source per distinct feed URL, in the order first listed, with every brand listing it."""
    listings: dict[str, list[Listing]] = {}
    for brand in settings.brands:
        for feed in brand.feeds:
            listing = Listing(brand.name, PLATFORMS[feed.platform])
            found = listings.setdefault(feed.url, [])
            if all(x.brand != brand.name for x in found):
                found.append(listing)
    return [FeedSource(url, found) for url, found in listings.items()]

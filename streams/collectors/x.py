"""X (API v2) recent search, one source per brand with an ``x:`` section: ``flarewatch collect
search``.

The query is the brand's ``x.query`` as written, or one built from its tracking rule
(:func:`models.tracking.xquery.x_query`, a superset of the rule: the runner narrows X's answer with
the rule itself) followed by ``-is:retweet``: a retweet carries no words of its own, only a copy
of a post the search finds anyway, and X bills every post it returns. Quotes and replies are kept.
A hand-written ``x.query`` gets nothing added (add ``-is:retweet`` to it if wanted).

**Checkpoint.** Recent search answers newest first, a page at a time (``next_token``), so a poll
publishes its newest page first; ``since_id`` may only move to the poll's newest id once *all* its
pages are published. The checkpoint is::

    {"since_id": "<newest id of the last complete poll>" | None,
     "newest_id": "<newest id of the poll in progress>" | None,
     "oldest_id": "<oldest id published by the poll in progress>" | None}

A poll in progress (``oldest_id`` set) is finished first on the next poll, from ``since_id`` up
to ``until_id=oldest_id`` (not from a stored ``next_token``, which need not outlive the process):
exactly the posts of that poll not yet published. Then ``since_id`` becomes ``newest_id`` and a
fresh pass reads what came since. Every batch's checkpoint covers exactly the posts published up
to it, so a crash at any point neither loses nor repeats one. X only searches the last 7 days: a
``since_id`` older than that is replaced by a ``start_time`` at the edge of the window, and the
rest of an interrupted poll that fell out of the window is given up (with a warning).

**Errors.** 429: wait until ``x-rate-limit-reset`` (with ``context.sleep``, counted with
``stats.rate_limited``), then ask again; an answer with ``x-rate-limit-remaining: 0`` makes the
next request wait for the reset the same way; a 429 that is the monthly usage cap stops the
source. 401/403: :class:`~streams.collectors.source.SourceStopped` ("x-zakupowo: bearer token
rejected (401)"); any other 4xx (a query X refuses) too, with X's reason. 5xx, a body that is not
JSON, or no answer: retried with back-off (tenacity), then :class:`XUnavailable`, an
:class:`~streams.collectors.http.Unreachable`. The token travels only in the
``Authorization: Bearer`` header; no message, log line or stats kind carries it.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from models.tracking.grammar import parse
from models.tracking.xquery import MAX_QUERY_CHARS, spellings, x_query
from streams.collectors.http import Http, Response, Unreachable
from streams.collectors.source import Batch, Checkpoint, Family, SourceContext, SourceStopped
from streams.config.brands import BrandSettings
from streams.config.secrets import read_secret
from streams.config.settings import Settings, SettingsError
from streams.contracts.limits import MAX_TEXT_CHARS
from streams.contracts.records import Author, Channel, Platform, RawMention, Source

log = logging.getLogger(__name__)

NO_RETWEETS: Final = " -is:retweet"
TWEET_FIELDS: Final = (
    "created_at,author_id,conversation_id,in_reply_to_user_id,lang,referenced_tweets,note_tweet"
)
"""``note_tweet`` carries the whole text of a post over 280 characters (``text`` is cut)."""
EXPANSIONS: Final = "author_id"
USER_FIELDS: Final = "username,name,public_metrics"
WINDOW: Final = timedelta(days=7)
"""How far back recent search reaches."""
WINDOW_MARGIN: Final = timedelta(minutes=5)
"""An id this close to the window's edge counts as out of it (clocks differ)."""
MAX_RATE_WAIT_S: Final = 15 * 60 + 5.0
"""The longest single rate-limit wait: X's windows are 15 minutes."""
DEFAULT_RATE_WAIT_S: Final = 60.0
"""The wait after a 429 without a usable ``x-rate-limit-reset``."""
MAX_PAGES: Final = 10_000
RATE_LIMITED: Final = "rate_limited"
_X_EPOCH_MS: Final = 1288834974657
_UNKNOWN_LANGS: Final = frozenset({"und", "zxx", "qam", "qct", "qht", "qme", "qst", "art"})
"""X's codes for "no language": undetermined, no text, mentions, cashtags, hashtags, media or
links only, very short."""


class XUnavailable(Unreachable):
    """X kept failing (5xx, no answer, not JSON, rate limited) after the bounded retries: try
    again at the next poll. ``kind`` is the stats label of the last failure."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    """Tries per request after a 5xx or no answer, the first included."""
    backoff_s: float = 2.0
    """First wait; doubles up to ``backoff_max_s``."""
    backoff_max_s: float = 60.0
    rate_limit_waits: int = 4
    """429s in a row for one request before giving up until the next poll."""


@dataclass(frozen=True, slots=True)
class _State:
    since_id: str | None = None
    newest_id: str | None = None
    oldest_id: str | None = None

    @classmethod
    def of(cls, checkpoint: Checkpoint | None) -> _State:
        if not checkpoint:
            return cls()
        values = [checkpoint.get(k) for k in ("since_id", "newest_id", "oldest_id")]
        since, newest, oldest = (v if isinstance(v, str) and v.isdigit() else None for v in values)
        if newest is None or oldest is None:
            return cls(since)
        return cls(since, newest, oldest)

    @property
    def in_progress(self) -> bool:
        return self.oldest_id is not None

    def checkpoint(self) -> dict[str, str | None]:
        return {"since_id": self.since_id, "newest_id": self.newest_id, "oldest_id": self.oldest_id}


class XSearchSource:
    """One brand's X recent search (see the module's notes). Not thread-safe: one poll at a
    time."""

    family: Family = "search"

    def __init__(
        self,
        brand: str,
        query: str,
        token: str,
        *,
        api_url: str = "https://api.x.com/2",
        max_results: int = 100,
        http: Http | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.brand: str | None = brand
        self.name = f"x-{brand}"
        self.query = query
        self._brand = brand
        self._url = api_url.rstrip("/") + "/tweets/search/recent"
        self._max_results = max(10, min(100, max_results))
        self._token = token
        self._http = http
        self._policy = policy or RetryPolicy()
        self._resume_at: float | None = None
        """Epoch seconds before which no request is sent (``x-rate-limit-remaining: 0``)."""

    def __repr__(self) -> str:
        return f"XSearchSource({self.name!r}, query={self.query!r})"

    # -- polling -----------------------------------------------------------------------------

    def poll(self, checkpoint: Checkpoint | None, context: SourceContext) -> Iterator[Batch]:
        """Finishes an interrupted poll, then reads what is new since the last complete one."""
        state = _State.of(checkpoint)
        if state.in_progress:
            state = yield from self._finish(state, context)
        yield from self._pass(state, None, context)

    def _finish(self, state: _State, context: SourceContext) -> Generator[Batch, None, _State]:
        """The rest of an interrupted poll: older than ``oldest_id``, newer than ``since_id``."""
        assert state.oldest_id is not None and state.newest_id is not None
        if _in_window(state.oldest_id, context.now()):
            return (yield from self._pass(state, state.oldest_id, context))
        log.warning(
            "%s: an interrupted poll's older posts have left X's 7-day search window; "
            "posts before id %s that were not read yet are lost",
            self.name,
            state.oldest_id,
        )
        done = _State(state.newest_id)
        yield Batch((), done.checkpoint())
        return done

    def _pass(
        self, state: _State, until_id: str | None, context: SourceContext
    ) -> Generator[Batch, None, _State]:
        """One search, page by page, newest first. ``until_id`` given: finishing the poll in
        progress in ``state``; None: a fresh poll from ``state.since_id``. Returns the state once
        all its pages are published."""
        now = context.now()
        params: dict[str, str | int] = {
            "query": self.query,
            "max_results": self._max_results,
            "tweet.fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "user.fields": USER_FIELDS,
        }
        since = state.since_id
        if since is not None and _in_window(since, now):
            params["since_id"] = since
        elif since is not None:
            params["start_time"] = _iso(now - WINDOW + WINDOW_MARGIN)
        if until_id is not None:
            params["until_id"] = until_id
        newest = state.newest_id if until_id is not None else None
        low, high = _num(since) or 0, _num(until_id)
        token: str | None = None
        for _ in range(MAX_PAGES):
            body = self._get({**params, "next_token": token} if token else params, context)
            tweets = [t for t in _list(body.get("data")) if _id_between(t, low, high)]
            meta: Mapping[str, Any] = body["meta"] if isinstance(body.get("meta"), dict) else {}
            context.stats.fetched(len(tweets))
            mentions = self._mentions(tweets, _users(body), context)
            if mentions:
                context.stats.newest(max(m.created_at for m in mentions))
            ids = [str(t["id"]) for t in tweets]
            if newest is None and ids:
                newest = _newest(meta.get("newest_id"), ids)
            token = meta.get("next_token") if isinstance(meta.get("next_token"), str) else None
            if token and newest is not None:
                oldest = _oldest(meta.get("oldest_id"), ids) if ids else state.oldest_id
                state = _State(state.since_id, newest, oldest)
                yield Batch(mentions, state.checkpoint())
                continue
            if token:  # an empty first page that still says "more"
                continue
            done = _State(newest if newest is not None else state.since_id)
            if mentions or done != state:
                yield Batch(mentions, done.checkpoint())
            return done
        raise XUnavailable(f"{self.name}: more than {MAX_PAGES} pages in one poll", "too_many_pages")

    # -- mapping -----------------------------------------------------------------------------

    def _mentions(
        self,
        tweets: Sequence[Mapping[str, Any]],
        users: Mapping[str, Mapping[str, Any]],
        context: SourceContext,
    ) -> tuple[RawMention, ...]:
        """The page's posts as mentions, oldest first; a post that does not fit the contract is
        counted (``bad_item``) and skipped."""
        found = []
        for tweet in reversed(tweets):
            try:
                found.append(to_mention(tweet, users, self._brand))
            except (ValidationError, KeyError, TypeError, ValueError) as exc:
                context.stats.error("bad_item")
                log.warning("%s: skipped post %s (%s)", self.name, tweet.get("id"), _first_line(exc))
        return tuple(found)

    # -- requests ----------------------------------------------------------------------------

    def _get(self, params: Mapping[str, str | int], context: SourceContext) -> Mapping[str, Any]:
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, XUnavailable) and exc.kind != RATE_LIMITED),
            stop=stop_after_attempt(self._policy.attempts),
            wait=self._backoff,
            sleep=context.sleep,
            reraise=True,
        )
        return retrying(self._attempt, params, context)

    def _backoff(self, state: RetryCallState) -> float:
        first, most = self._policy.backoff_s, self._policy.backoff_max_s
        return float(min(most, first * 2.0 ** (state.attempt_number - 1)))

    def _attempt(self, params: Mapping[str, str | int], context: SourceContext) -> Mapping[str, Any]:
        if self._http is None:
            self._http = Http(timeout_s=context.timeout_s)
        headers = {"Authorization": f"Bearer {self._token}"}
        waits = 0
        while True:
            self._wait_for_window(context)
            try:
                response = self._http.get(self._url, params, headers)
            except Unreachable as exc:
                context.stats.error("unreachable")
                raise XUnavailable(self._scrub(f"{self.name}: {exc}"), "unreachable") from None
            self._note_limits(response)
            if response.status != 429:
                return self._body(response, context)
            if waits == self._policy.rate_limit_waits:
                context.stats.error("http_429")
                raise XUnavailable(f"{self.name}: still rate limited after {waits} waits", RATE_LIMITED)
            waits += 1
            self._rate_limited(response, context)

    def _body(self, response: Response, context: SourceContext) -> Mapping[str, Any]:
        status = response.status
        if status == 200:
            try:
                body = response.json()
            except ValueError:
                context.stats.error("bad_json")
                raise XUnavailable(f"{self.name}: X's answer is not JSON", "bad_json") from None
            if not isinstance(body, dict):
                context.stats.error("bad_json")
                raise XUnavailable(f"{self.name}: X's answer is not a JSON object", "bad_json")
            return body
        kind = f"http_{status}"
        context.stats.error(kind)
        if status >= 500 or status == 408:
            raise XUnavailable(f"{self.name}: X answered {status}", kind)
        if status in (401, 403):
            reason = self._reason(response) if status == 403 else ""
            raise SourceStopped(f"{self.name}: bearer token rejected ({status}{reason})")
        raise SourceStopped(f"{self.name}: X refused the search ({status}{self._reason(response)})")

    def _rate_limited(self, response: Response, context: SourceContext) -> None:
        context.stats.error("http_429")
        if "usagecapexceeded" in self._reason(response).lower().replace(" ", ""):
            raise SourceStopped(f"{self.name}: the X project's monthly post cap is used up (429)")
        reset = _float(response.headers.get("x-rate-limit-reset"))
        now = context.now().timestamp()
        wait = reset - now if reset is not None and reset > now else DEFAULT_RATE_WAIT_S
        wait = min(max(wait, 1.0), MAX_RATE_WAIT_S)
        log.info("%s: rate limited by X; waiting %.0f s", self.name, wait)
        context.stats.rate_limited(wait)
        context.sleep(wait)
        self._resume_at = None

    def _note_limits(self, response: Response) -> None:
        remaining = response.headers.get("x-rate-limit-remaining")
        reset = _float(response.headers.get("x-rate-limit-reset"))
        if response.status != 429 and remaining is not None and remaining.strip() == "0" and reset:
            self._resume_at = reset

    def _wait_for_window(self, context: SourceContext) -> None:
        if self._resume_at is None:
            return
        wait = min(self._resume_at - context.now().timestamp(), MAX_RATE_WAIT_S)
        self._resume_at = None
        if wait > 0:
            log.info("%s: X's rate-limit window is used up; waiting %.0f s", self.name, wait)
            context.stats.rate_limited(wait)
            context.sleep(wait)

    def _reason(self, response: Response) -> str:
        """X's own words for a refusal, ``": ..."``, short, one line, without the token."""
        try:
            body = response.json()
        except ValueError:
            return ""
        if not isinstance(body, dict):
            return ""
        parts: list[str] = []
        for key in ("title", "detail", "reason"):
            if isinstance(body.get(key), str):
                parts.append(body[key])
        for error in _list(body.get("errors"))[:2]:
            if isinstance(error.get("message"), str):
                parts.append(error["message"])
        text = " ".join(" ".join(dict.fromkeys(parts)).split())
        if not text:
            return ""
        text = self._scrub(text)
        return ": " + (text if len(text) <= 300 else text[:299] + "…")

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text


# -- a post as a mention ------------------------------------------------------------------------


def to_mention(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], brand: str) -> RawMention:
    """One post of a search answer (``data[]``) with its author from ``includes.users``."""
    tweet_id = str(tweet["id"])
    author_id = str(tweet["author_id"])
    user = users.get(author_id, {})
    username = user.get("username") if isinstance(user.get("username"), str) else None
    metrics = user.get("public_metrics")
    followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
    conversation = tweet.get("conversation_id")
    note = tweet.get("note_tweet")
    text = note.get("text") if isinstance(note, dict) and isinstance(note.get("text"), str) else None
    lang = tweet.get("lang")
    return RawMention(
        platform=Platform.X,
        native_id=tweet_id,
        brand=brand,
        author=Author(
            id=author_id,
            name=username,
            followers=followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
        ),
        text=html.unescape(text or str(tweet["text"]))[:MAX_TEXT_CHARS],
        url=f"https://x.com/{username or 'i/web'}/status/{tweet_id}",
        created_at=datetime.fromisoformat(str(tweet["created_at"])),
        parent_id=_replied_to(tweet),
        thread_id=str(conversation) if conversation and str(conversation) != tweet_id else None,
        source=Source.SEARCH,
        channel=Channel.PUBLIC,
        lang=lang.lower() if isinstance(lang, str) and lang.lower() not in _UNKNOWN_LANGS else None,
    )


def _replied_to(tweet: Mapping[str, Any]) -> str | None:
    for ref in _list(tweet.get("referenced_tweets")):
        if ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def _users(body: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    includes = body.get("includes")
    users = _list(includes.get("users")) if isinstance(includes, dict) else []
    return {str(u["id"]): u for u in users if "id" in u}


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# -- ids -------------------------------------------------------------------------------------------


def _num(tweet_id: Any) -> int | None:
    text = str(tweet_id) if tweet_id is not None else ""
    return int(text) if text.isdigit() else None


def _id_between(tweet: Mapping[str, Any], low: int, high: int | None) -> bool:
    """A post with a numeric id, newer than ``low`` (``since_id``) and older than ``high``
    (``until_id``): X says so already; checked again so that a checkpoint's promise holds."""
    number = _num(tweet.get("id"))
    return number is not None and number > low and (high is None or number < high)


def _newest(stated: Any, ids: Sequence[str]) -> str:
    candidates = [int(i) for i in ids] + ([int(stated)] if _num(stated) is not None else [])
    return str(max(candidates))


def _oldest(stated: Any, ids: Sequence[str]) -> str:
    candidates = [int(i) for i in ids] + ([int(stated)] if _num(stated) is not None else [])
    return str(min(candidates))


def snowflake_time(tweet_id: str) -> datetime:
    """When a post with this id was written (X ids are snowflakes: milliseconds since X's epoch
    in the bits above the lowest 22)."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + _X_EPOCH_MS) / 1000, UTC)


def _in_window(tweet_id: str, now: datetime) -> bool:
    return snowflake_time(tweet_id) > now - WINDOW + WINDOW_MARGIN


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


_SPACES = re.compile(r"\s+")


def _first_line(exc: Exception) -> str:
    return _SPACES.sub(" ", str(exc))[:200]


# -- sources from the settings --------------------------------------------------------------------


def search_query(brand: BrandSettings) -> str:
    """The X query for ``brand``: its ``x.query``, else built from its tracking rule (a superset)
    with ``-is:retweet``. Raises :class:`SettingsError` when the rule cannot be searched on X."""
    if brand.x is not None and brand.x.query is not None:
        return brand.x.query
    rule = brand.tracking_rule
    try:
        query = x_query(parse(rule), spellings=spellings(rule)) + NO_RETWEETS
    except ValueError as exc:
        raise SettingsError(f"brands: {brand.name}: {exc}") from None
    if len(query) > MAX_QUERY_CHARS:
        raise SettingsError(
            f"brands: {brand.name}: the X query built from the tracking rule is {len(query)} characters "
            f"with{NO_RETWEETS}, over X's {MAX_QUERY_CHARS}: set a shorter x.query for the brand"
        )
    return query


def search_sources(settings: Settings) -> list[XSearchSource]:
    """One source per brand with an ``x:`` section. The bearer token is read once (environment
    variable or file, ``collectors.x``); no brand on X: nothing is read."""
    brands = [brand for brand in settings.brands if brand.x is not None]
    if not brands:
        return []
    x = settings.collectors.x
    queries = [search_query(brand) for brand in brands]
    token = read_secret(x.bearer_token_env, x.bearer_token_file, "X bearer token")
    return [
        XSearchSource(brand.name, query, token, api_url=x.api_url, max_results=x.max_results)
        for brand, query in zip(brands, queries, strict=True)
    ]

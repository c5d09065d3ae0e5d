"""A brand's Facebook page (and the Instagram account linked to it) as a polled source: page posts,
visitor posts, comments and replies, Messenger conversations, Instagram media and comments.

Permissions the page access token needs (a long-lived page token, or a system user's token with
the page assigned):

- ``pages_read_engagement``: the page's posts, their comments and replies;
- ``pages_read_user_content``: visitor posts and comments by other people on the page;
- ``pages_manage_metadata``: subscribing the page to webhooks (the webhook source; polling does
  not need it);
- ``pages_messaging``: the Messenger conversations and their messages;
- ``instagram_basic`` and ``instagram_manage_comments``: the linked Instagram business account's
  media and their comments (only when the brand has ``instagram.account_id``).

What one poll reads, in this order:

1. ``/{page-id}/posts`` and ``/{page-id}/visitor_posts`` (``/posts`` rather than ``/feed``: ``/feed``
   also holds the visitor posts, and reading both would fetch them twice), since the stream's
   watermark, or ``lookback_hours`` back on the first poll. Every post read, with or without text,
   becomes an active thread.
2. For every post with activity (the post, its newest comment) within ``lookback_hours``:
   ``/{post-id}/comments?filter=stream&order=chronological&since=<window start>``. ``filter=stream``
   returns replies too, each with ``parent``. A comment published before and missing now is a
   :class:`Removal` (``removed_by`` None: polling cannot tell who removed it); a post that is gone
   removes its published comments and itself.
3. ``/{page-id}/conversations?platform=messenger`` down to the newest ``updated_time`` read through,
   then ``/{conversation-id}/messages`` of each conversation updated since.
4. With ``instagram.account_id``: ``/{ig-user-id}/media``, then the comments (and their replies) of
   every media active within the window.

If the token lacks the Instagram permissions (code 10 or 200-299 on an Instagram request), only the
Instagram part stops: the page part goes on, every poll logs one warning line and counts the error
(``graph_10``...), and :attr:`PageSource.instagram_problem` says why. Any other permission or
token error stops the whole source (:class:`SourceStopped`).

Items without text (a photo, a sticker) are skipped, not counted as errors; an item that cannot be
a mention (no id, no readable time) is skipped and counted as ``bad_item``. A batch goes out per
API page of comments, and per page-sized chunk of the other streams (they come newest first, so
they are read to the end, sorted, and published oldest first). Each batch carries the checkpoint
that covers it: resuming from any of them neither skips nor repeats an item (see
:mod:`streams.collectors.facebook.state`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.collectors.facebook.graph import (
    GraphClient,
    NotFound,
    PermissionDenied,
    RetryPolicy,
    next_params,
)
from streams.collectors.facebook.mapping import BadItem, Where, epoch, graph_time, item_id, mention, parent_of
from streams.collectors.facebook.state import PageState, Thread, Watermark
from streams.collectors.http import Http
from streams.collectors.source import Batch, Checkpoint, Family, Removal, SourceContext, SourceStopped
from streams.config.collectors import FacebookCollector
from streams.config.secrets import read_secret
from streams.config.settings import Settings
from streams.contracts.records import Channel, Platform, RawMention

log = logging.getLogger("flarewatch.collect.facebook")

POST_FIELDS = "id,message,created_time,from,permalink_url,updated_time"
COMMENT_FIELDS = "id,message,created_time,from,parent,permalink_url"
CONVERSATION_FIELDS = "id,updated_time"
MESSAGE_FIELDS = "id,message,created_time,from,to"
MEDIA_FIELDS = "id,caption,timestamp,permalink,username"
IG_REPLY_FIELDS = "id,text,timestamp,username,from"
IG_COMMENT_FIELDS = f"id,text,timestamp,username,from,replies{{{IG_REPLY_FIELDS}}}"

Found = list[tuple[int, str, Mapping[str, Any]]]
"""(epoch seconds, id, item), oldest first."""
Page = tuple[list[Mapping[str, Any]], bool]
"""One API page's items, and whether it is the last page."""
Make = Callable[[Mapping[str, Any]], RawMention | None]


class PageSource:
    """One brand's page. ``poll`` blocks on HTTP and on rate-limit waits (``context.sleep``);
    raises :class:`SourceStopped` (token, permission), ``Unreachable`` (try the next poll)."""

    family: Family = "pages"

    def __init__(
        self,
        brand: str,
        page_id: str,
        token: str,
        facebook: FacebookCollector | None = None,
        *,
        instagram_id: str | None = None,
        messenger: bool = True,
        http: Http | None = None,
        timeout_s: float = 30.0,
        policy: RetryPolicy | None = None,
    ) -> None:
        settings = facebook or FacebookCollector()
        self.name = f"facebook-{brand}"
        self.brand: str | None = brand
        self.brand_name = brand
        self.page_id = page_id
        self.instagram_id = instagram_id
        self.messenger = messenger
        """Read the Messenger inbox (needs ``pages_messaging``)."""
        self.page_size = settings.page_size
        self.lookback = timedelta(hours=settings.lookback_hours)
        self.instagram_problem: str | None = None
        """Why the Instagram part was skipped at the last poll; None when it was read."""
        self._http = http or Http(timeout_s)
        self._graph = GraphClient(
            settings.api_url,
            token,
            name=self.name,
            http=self._http,
            slowdown_percent=settings.usage_slowdown_percent,
            policy=policy,
        )

    def __repr__(self) -> str:
        return f"PageSource({self.name!r}, page_id={self.page_id!r})"

    def poll(self, checkpoint: Checkpoint | None, context: SourceContext) -> Iterator[Batch]:
        try:
            state = PageState.load(checkpoint)
        except ValueError as exc:  # starting over would publish the whole window again
            raise SourceStopped(
                f"{self.name}: checkpoint not understood ({exc}); move it away to start afresh"
            ) from None
        return _Poll(self, self._graph, state, context).run()

    def close(self) -> None:
        self._http.close()


class _Poll:
    """One poll's walk over the page's streams, mutating ``state`` as it publishes."""

    def __init__(
        self, source: PageSource, graph: GraphClient, state: PageState, context: SourceContext
    ) -> None:
        self.source = source
        self.graph = graph
        self.state = state
        self.context = context
        self.cutoff = epoch(context.now() - source.lookback)
        self.dirty = False
        brand = source.brand_name
        self.facebook = Where(brand, source.page_id)
        self.messenger = Where(brand, source.page_id, Platform.MESSENGER, Channel.PRIVATE)
        self.instagram = Where(brand, source.instagram_id or "", Platform.INSTAGRAM)

    def run(self) -> Iterator[Batch]:
        page = self.source.page_id
        try:
            yield from self._posts(f"{page}/posts", self.state.posts)
            yield from self._posts(f"{page}/visitor_posts", self.state.visitor_posts)
            yield from self._comment_threads()
            if self.source.messenger:
                yield from self._messenger()
        except NotFound as exc:
            raise SourceStopped(f"{exc} (is page {page} right, and the token this page's?)") from None
        if self.source.instagram_id is not None:
            yield from self._instagram()
        if self.dirty:
            yield self._batch([])

    # -- shared steps -------------------------------------------------------------------------

    def _batch(self, mentions: list[RawMention], removals: Iterable[Removal] = ()) -> Batch:
        if mentions:
            self.context.stats.newest(max(m.created_at for m in mentions))
        self.dirty = False
        return Batch(tuple(mentions), self.state.dump(), tuple(removals))

    def _pages(self, path: str, params: Mapping[str, str | int]) -> Iterator[Page]:
        """Each page's items, and whether it is the last page."""
        for page in self.graph.pages(path, {"limit": self.source.page_size, **params}, self.context):
            self.context.stats.fetched(len(page.data))
            yield list(page.data), page.next_params is None

    def _timed(self, item: Mapping[str, Any], key: str = "created_time") -> tuple[int, str] | None:
        try:
            return epoch(graph_time(item.get(key))), item_id(item)
        except BadItem:
            self.context.stats.error("bad_item")
            return None

    def _map(self, make: Make, item: Mapping[str, Any]) -> RawMention | None:
        try:
            return make(item)
        except BadItem:
            self.context.stats.error("bad_item")
            return None

    def _newest_first(
        self, path: str, params: Mapping[str, str | int], mark: Watermark, floor: int, key: str
    ) -> Found:
        """Everything on a newest-first edge from second ``floor`` on that ``mark`` has not seen,
        oldest first. Stops reading at a page that ends before ``floor``."""
        found: dict[str, tuple[int, str, Mapping[str, Any]]] = {}
        for data, _ in self._pages(path, params):
            last: int | None = None
            for item in data:
                timed = self._timed(item, key)
                if timed is None:
                    continue
                at, native_id = timed
                last = at
                if at >= floor and mark.fresh(at, native_id):
                    found[native_id] = (at, native_id, item)
            if last is not None and last < floor:
                break
        return sorted(found.values(), key=lambda f: (f[0], f[1]))

    def _publish(
        self,
        found: Found,
        mark: Watermark,
        make: Make,
        also: Callable[[int, str, Mapping[str, Any], RawMention | None], None] = lambda *_: None,
    ) -> Iterator[Batch]:
        """``found`` in page-sized batches, advancing ``mark`` as each is published."""
        size = self.source.page_size
        for start in range(0, len(found), size):
            mentions = []
            for at, native_id, item in found[start : start + size]:
                made = self._map(make, item)
                if made is not None:
                    mentions.append(made)
                mark.advance(at, native_id)
                also(at, native_id, item, made)
            yield self._batch(mentions)

    # -- Facebook posts and comments ------------------------------------------------------------

    def _posts(self, path: str, mark: Watermark) -> Iterator[Batch]:
        floor = mark.floor(self.cutoff)
        params: dict[str, str | int] = {"fields": POST_FIELDS, "since": floor - 1}
        found = self._newest_first(path, params, mark, floor, "created_time")

        def make(item: Mapping[str, Any]) -> RawMention | None:
            return mention(item, self.facebook)

        def track(at: int, native_id: str, item: Mapping[str, Any], made: RawMention | None) -> None:
            updated = self._timed(item, "updated_time") if item.get("updated_time") else None
            activity = max(at, updated[0] if updated else at)
            thread = self.state.threads.setdefault(native_id, Thread(activity, created=at))
            thread.activity = max(thread.activity, activity)
            thread.root = thread.root or made is not None

        yield from self._publish(found, mark, make, track)

    def _comment_threads(self) -> Iterator[Batch]:
        threads = self.state.threads
        for post_id in sorted(threads):
            if threads[post_id].activity < self.cutoff:
                del threads[post_id]
                self.dirty = True
                continue
            params: dict[str, str | int] = {
                "fields": COMMENT_FIELDS,
                "filter": "stream",
                "order": "chronological",
                "since": self.cutoff - 1,
            }

            def make(item: Mapping[str, Any], post_id: str = post_id) -> RawMention | None:
                return mention(item, self.facebook, thread_id=post_id, parent_id=parent_of(item) or post_id)

            pages = self._pages(f"{post_id}/comments", params)
            yield from self._thread(post_id, threads, pages, make, self.facebook)

    def _thread(
        self,
        root_id: str,
        threads: dict[str, Thread],
        pages: Iterator[Page],
        make: Make,
        where: Where,
    ) -> Iterator[Batch]:
        """Read one thread's comments over the window: publish the new ones page by page; on the
        last page, turn published comments that were not seen into removals."""
        thread = threads[root_id]
        before = thread.dump()
        thread.prune(self.cutoff)
        seen: set[str] = set()
        try:
            for data, last_page in pages:
                mentions = self._new_comments(thread, data, make, seen)
                removed = self._gone(thread, seen, where) if last_page else []
                if mentions or removed:
                    yield self._batch(mentions, removed)
                    before = thread.dump()
            self.dirty = self.dirty or thread.dump() != before
        except NotFound:
            gone: dict[str, int | None] = dict(thread.known)
            if thread.root:
                gone[root_id] = thread.created
            del threads[root_id]
            yield self._batch([], [self._removal(where, k, at) for k, at in sorted(gone.items())])

    def _new_comments(
        self,
        thread: Thread,
        data: list[Mapping[str, Any]],
        make: Make,
        seen: set[str],
    ) -> list[RawMention]:
        mentions = []
        timed = [(t, item) for item in data if (t := self._timed(item, _time_key(item))) is not None]
        for (at, native_id), item in sorted(timed, key=lambda ti: ti[0]):
            seen.add(native_id)
            thread.activity = max(thread.activity, at)
            if at < self.cutoff or native_id in thread.known:
                continue
            made = self._map(make, item)
            if made is not None:
                thread.known[native_id] = at
                mentions.append(made)
        return mentions

    def _gone(self, thread: Thread, seen: set[str], where: Where) -> list[Removal]:
        gone = sorted(k for k in thread.known if k not in seen)
        return [self._removal(where, native_id, thread.known.pop(native_id)) for native_id in gone]

    def _removal(self, where: Where, native_id: str, created: int | None) -> Removal:
        return Removal(
            f"{where.platform.value}:{native_id}",
            where.brand,
            self.context.now(),
            created_at=None if created is None else datetime.fromtimestamp(created, UTC),
        )

    # -- Messenger -----------------------------------------------------------------------------

    def _messenger(self) -> Iterator[Batch]:
        floor = self.state.inbox if self.state.inbox is not None else self.cutoff
        params = {"platform": "messenger", "fields": CONVERSATION_FIELDS}
        updated: dict[str, int] = {}
        for data, _ in self._pages(f"{self.source.page_id}/conversations", params):
            timed = [t for item in data if (t := self._timed(item, "updated_time")) is not None]
            for at, conversation in timed:
                if at >= floor:
                    updated[conversation] = max(at, updated.get(conversation, at))
            if timed and timed[-1][0] < floor:
                break
        for conversation, at in sorted(updated.items(), key=lambda ca: (ca[1], ca[0])):
            yield from self._conversation(conversation, at)
        newest = max(updated.values(), default=self.state.inbox)
        if newest != self.state.inbox:
            self.state.inbox = newest
            self.dirty = True
        for conversation, mark in list(self.state.conversations.items()):
            if mark.newest is None or mark.newest < self.cutoff:
                del self.state.conversations[conversation]
                self.dirty = True

    def _conversation(self, conversation: str, updated: int) -> Iterator[Batch]:
        mark = self.state.conversations.get(conversation) or Watermark()
        if mark.newest is not None and updated < mark.newest:
            return
        self.state.conversations[conversation] = mark
        try:
            found = self._newest_first(
                f"{conversation}/messages",
                {"fields": MESSAGE_FIELDS},
                mark,
                mark.floor(self.cutoff),
                "created_time",
            )
        except NotFound:
            del self.state.conversations[conversation]
            return

        def make(item: Mapping[str, Any]) -> RawMention | None:
            return mention(item, self.messenger, thread_id=conversation)

        yield from self._publish(found, mark, make)

    # -- Instagram -----------------------------------------------------------------------------

    def _instagram(self) -> Iterator[Batch]:
        try:
            yield from self._media()
            yield from self._media_threads()
        except (PermissionDenied, NotFound) as exc:
            self.source.instagram_problem = f"instagram part skipped: {exc}"
            log.warning("source=%s %s", self.source.name, self.source.instagram_problem)
        else:
            self.source.instagram_problem = None

    def _media(self) -> Iterator[Batch]:
        mark = self.state.media
        floor = mark.floor(self.cutoff)
        params: dict[str, str | int] = {"fields": MEDIA_FIELDS, "since": floor - 1}
        account = self.source.instagram_id or ""
        found = self._newest_first(f"{account}/media", params, mark, floor, "timestamp")

        def make(item: Mapping[str, Any]) -> RawMention | None:
            sender = {"id": account, "username": item.get("username")}
            url = item.get("permalink") if isinstance(item.get("permalink"), str) else None
            where = self.instagram
            return mention(item, where, text_key="caption", time_key="timestamp", url=url, sender=sender)

        def track(at: int, native_id: str, item: Mapping[str, Any], made: RawMention | None) -> None:
            thread = self.state.media_threads.setdefault(native_id, Thread(at, created=at))
            thread.root = thread.root or made is not None

        yield from self._publish(found, mark, make, track)

    def _media_threads(self) -> Iterator[Batch]:
        threads = self.state.media_threads
        for media_id in sorted(threads):
            if threads[media_id].activity < self.cutoff:
                del threads[media_id]
                self.dirty = True
                continue

            def make(item: Mapping[str, Any], media_id: str = media_id) -> RawMention | None:
                parent = item.get("_parent") if isinstance(item.get("_parent"), str) else media_id
                where = self.instagram
                return mention(
                    item, where, text_key="text", time_key="timestamp", thread_id=media_id, parent_id=parent
                )

            pages = self._ig_comment_pages(media_id)
            yield from self._thread(media_id, threads, pages, make, self.instagram)

    def _ig_comment_pages(self, media_id: str) -> Iterator[Page]:
        """Comments with their replies flattened in (each reply marked with ``_parent``); replies
        beyond the first page of a comment's ``replies`` are read from ``/{comment-id}/replies``."""
        for data, last in self._pages(f"{media_id}/comments", {"fields": IG_COMMENT_FIELDS}):
            flat: list[Mapping[str, Any]] = []
            for comment in data:
                flat.append(comment)
                flat += self._ig_replies(comment)
            yield flat, last

    def _ig_replies(self, comment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        replies = comment.get("replies")
        if not isinstance(replies, dict):
            return []
        parent = str(comment.get("id"))
        items: list[Mapping[str, Any]] = [r for r in replies.get("data") or [] if isinstance(r, dict)]
        more = next_params(replies)
        if more is not None:
            params = {"fields": IG_REPLY_FIELDS, **more}
            try:
                for data, _ in self._pages(f"{parent}/replies", params):
                    items += data
            except NotFound:
                pass  # the comment went meanwhile, and its replies with it
        return [{**reply, "_parent": parent} for reply in items]


def _time_key(item: Mapping[str, Any]) -> str:
    return "created_time" if "created_time" in item else "timestamp"


def page_sources(settings: Settings) -> list[PageSource]:
    """One source per brand with a ``facebook:`` section; raises ``SecretError`` when a page token
    is not where the configuration says."""
    facebook = settings.collectors.facebook
    sources = []
    for brand in settings.brands:
        if brand.facebook is None:
            continue
        page = brand.facebook
        token = read_secret(page.token_env, page.token_file, f"page token of {brand.name}")
        sources.append(
            PageSource(
                brand.name,
                brand.facebook.page_id,
                token,
                facebook,
                instagram_id=brand.instagram.account_id if brand.instagram else None,
                messenger=page.messenger,
                timeout_s=settings.collectors.http_timeout_s,
            )
        )
    return sources

"""The Facebook Page and Messenger webhook endpoint (``flarewatch collect webhooks``): Meta pushes
comments, posts and messages as they happen, and each delivery is answered ``200 EVENT_RECEIVED``
only once the broker has acknowledged what it carried.

Subscribing the app
-------------------

1. Serve the endpoint on a public HTTPS address with a certificate Meta trusts (not self-signed),
   e.g. behind a TLS-terminating proxy that forwards to ``collectors.facebook.webhook_host``/
   ``webhook_port``. The callback URL is that address plus ``collectors.facebook.webhook_path``
   (default ``/webhooks/facebook``): ``https://hooks.example.com/webhooks/facebook``.
2. Choose a verify token (any random string) and put it where ``verify_token_env`` or
   ``verify_token_file`` says; put the app secret (App settings > Basic) where ``app_secret_env``
   or ``app_secret_file`` says. The app secret signs every delivery (``X-Hub-Signature-256``).
3. In the app dashboard, Webhooks product, object **Page**: enter the callback URL and the verify
   token, then *Verify and save*. Meta sends ``GET ?hub.mode=subscribe&hub.verify_token=...&
   hub.challenge=...``; the endpoint answers the challenge only when the token matches.
4. Subscribe the Page fields **feed** (posts, comments, replies, removals, hidden comments) and
   **messages** (what customers send on Messenger), and **message_echoes** too: the page's own
   Messenger replies come only with that field, and without them no Messenger thread ever shows
   an answer.
5. Install the app on every brand's page with that page's access token (``pages_manage_metadata``
   and ``pages_show_list`` for ``feed``, ``pages_messaging`` for the Messenger fields)::

       curl -X POST "https://graph.facebook.com/v23.0/{page-id}/subscribed_apps" \\
           -d subscribed_fields=feed,messages,message_echoes -d access_token={page-access-token}

   ``GET /{page-id}/subscribed_apps`` lists what a page has installed. While the app is in
   Development mode Meta only delivers the activity of people with a role on the app.

Each page id must be a brand's ``facebook.page_id``: deliveries for other pages are ignored and
counted (``flarewatch_webhook_skipped_total{reason="unknown_page"}``).

What a delivery becomes
-----------------------

- ``feed`` changes of items ``comment``, ``post``, ``status``, ``photo``, ``video``:

  - ``add``/``edited``: a :class:`RawMention` (platform ``facebook``) with the same identity the
    page poller gives (``comment_id``, or ``post_id`` for a post), ``thread_id`` the post,
    ``parent_id`` the comment replied to (the post for a top-level comment), ``from_brand`` when
    ``from`` is the page. Items without text (a photo, a sticker alone) are skipped and counted.
  - ``hide``: a hidden :class:`Removal`, ``removed_by="page"`` (only the page can hide).
  - ``remove``: a :class:`Removal`. Meta's reference does not say whether ``from`` on a
    ``remove`` is the remover or the item's author, so ``removed_by`` is ``"page"`` when ``from``
    is the page (true under either reading) and None otherwise. A removed post's comments get no
    removal of their own here (the delivery does not list them).
  - ``unhide`` and any other verb are skipped and counted: there is no record that undoes a hide.

- Messenger events (under ``messaging``, or ``standby`` when another app holds the conversation)
  with a ``message``: a :class:`RawMention` (platform ``messenger``, channel ``private``,
  ``native_id`` the ``mid``, ``created_at`` the event's ``timestamp``). An echo
  (``is_echo``: the page wrote it) has ``from_brand=True``. ``thread_id`` is
  ``"{page_id}-{psid}"``, the page and the customer's page-scoped id: the customer's messages
  and the page's replies (whose recipient is that PSID) land in one thread. Meta's conversation id
  (``t_...``, what ``collect pages`` uses) is not in a webhook delivery, so do not poll a page's
  Messenger inbox and receive its messages here too (set ``facebook.messenger: false`` on the
  brand): the same message would move between threads.
  A message the sender deleted (``is_deleted``) becomes a :class:`Removal`.
- Everything else (reactions, shares, deliveries, reads, other fields) is counted by kind and
  dropped.

Answers: ``200 EVENT_RECEIVED`` once the sink returned (Meta retries a delivery it did not get a
200 for, so a mention can arrive twice: identities are deterministic and the second overwrites the
first); ``500`` when the sink raised; ``403`` for a missing or wrong signature (the body is never
parsed); ``413`` above :data:`MAX_BODY_BYTES`; ``400`` for a body that is not JSON or not shaped
like a delivery; ``200``, counted, for a signed delivery of another object (Meta would retry an
error for days). A mention that fails the contract (an absurd time, too long a text) is logged on one
line, counted and left out; the rest of the delivery goes on. Neither the app secret nor the
verify token is ever logged or sent back; serve the app with :data:`ACCESS_LOG_FORMAT` (or no
access log), since aiohttp's default access log writes the challenge's query string, token and all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from streams.collectors.facebook.mapping import author
from streams.collectors.source import Removal, utc_now
from streams.contracts.records import Channel, MentionRemoval, Platform, RawMention, Source

log = logging.getLogger("flarewatch.collect.webhooks")

MAX_BODY_BYTES: Final = 1024 * 1024
"""Largest delivery read; a larger one is answered 413."""
SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
RECEIVED: Final = "EVENT_RECEIVED"
FEED_ITEMS: Final = frozenset({"comment", "post", "status", "photo", "video"})
"""Feed items that can be mentions; ``post``, ``status``, ``photo`` and ``video`` are all posts."""
MESSAGING_KEYS: Final = ("messaging", "standby")
ACCESS_LOG_FORMAT: Final = '%a %t %s %b %Tf "%{User-Agent}i"'
"""An aiohttp access-log format without the request line: the request line of Meta's subscription
challenge carries the verify token in its query (serve with ``access_log_format=ACCESS_LOG_FORMAT``
or ``access_log=None``)."""


class Sink(Protocol):
    """Where a delivery's mentions and removals go: returns once the broker acknowledged them all;
    raises when it could not (the delivery is then answered 500 and Meta sends it again)."""

    async def __call__(self, mentions: Sequence[RawMention], removals: Sequence[Removal]) -> None: ...


class WebhookMetrics:
    """The endpoint's counters. Labels are bounded: event kinds, reasons, brand names, platforms;
    never an id, a token or a text."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "flarewatch_webhook_events",
            "Events received for the brands' pages, by kind (comment, post, status, photo, video, "
            "message, echo, message_deleted, feed_other, field_other, messaging_other).",
            ["kind"],
            registry=r,
        )
        self.published = Counter(
            "flarewatch_webhook_published",
            "Mentions the sink acknowledged.",
            ["brand", "platform"],
            registry=r,
        )
        self.removals = Counter(
            "flarewatch_webhook_removals",
            "Removed or hidden items the sink acknowledged.",
            ["brand"],
            registry=r,
        )
        self.rejected = Counter(
            "flarewatch_webhook_rejected",
            "Requests refused, by reason (signature, too_large, json, shape; verify_token for a "
            "subscription challenge with a wrong token).",
            ["reason"],
            registry=r,
        )
        self.skipped = Counter(
            "flarewatch_webhook_skipped",
            "Events of an accepted delivery left out, by reason (unknown_page, no_text, invalid, "
            "malformed, verb, unhide).",
            ["reason"],
            registry=r,
        )
        self.sink_errors = Counter(
            "flarewatch_webhook_sink_errors",
            "Deliveries answered 500 because the sink raised (Meta sends them again).",
            registry=r,
        )


METRICS: Final = web.AppKey("flarewatch_webhook_metrics", WebhookMetrics)
"""The app's :class:`WebhookMetrics` (``app[METRICS].registry`` for a ``/metrics`` server)."""


class ShapeError(ValueError):
    """A signed body that is JSON but not a page delivery; ``str()`` says what, on one line."""


class OtherObject(ShapeError):
    """A signed delivery for another object (``instagram``, ``user``...): answered 200 and
    counted, since Meta would retry an error answer for days; subscribe only the Page object."""


@dataclass
class Delivery:
    """What one delivery carried, and what was counted on the way."""

    mentions: list[RawMention] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    events: Tally[str] = field(default_factory=Tally)
    skipped: Tally[str] = field(default_factory=Tally)


def read_delivery(
    payload: object, brands_by_page: Mapping[str, str], now: datetime | None = None
) -> Delivery:
    """The mentions and removals of a parsed delivery (``object: "page"``). Raises
    :class:`ShapeError` when the envelope is not a page delivery; anything wrong inside one event
    only skips that event (counted in :attr:`Delivery.skipped`)."""
    if not isinstance(payload, dict):
        raise ShapeError(f"body is a JSON {type(payload).__name__}, not an object")
    if payload.get("object") != "page":
        raise OtherObject(f"object is {_short(payload.get('object'))}, not 'page'")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise ShapeError("no entry list")
    reader = _Reader(brands_by_page, now or utc_now())
    for entry in entries:
        reader.entry(entry)
    return reader.delivery


class _Reader:
    def __init__(self, brands_by_page: Mapping[str, str], now: datetime) -> None:
        self.brands = brands_by_page
        self.now = now
        self.delivery = Delivery()

    def entry(self, entry: object) -> None:
        if not isinstance(entry, dict):
            raise ShapeError("an entry is not an object")
        page = _id(entry.get("id"))
        if page is None:
            raise ShapeError("an entry has no page id")
        changes = entry.get("changes", [])
        batches = [entry.get(key, []) for key in MESSAGING_KEYS]
        if not isinstance(changes, list) or not all(isinstance(b, list) for b in batches):
            raise ShapeError("an entry's changes or messaging is not a list")
        brand = self.brands.get(page)
        if brand is None:
            self.delivery.skipped["unknown_page"] += 1
            log.warning("webhook: entry for page %r ignored: no brand has that page id", page)
            return
        at = _entry_time(entry.get("time")) or self.now
        for change in changes:
            self.change(change, page, brand, at)
        for batch in batches:
            for event in batch:
                self.messaging(event, page, brand)

    # -- feed ------------------------------------------------------------------------------------

    def change(self, change: object, page: str, brand: str, at: datetime) -> None:
        d = self.delivery
        if not isinstance(change, dict):
            self.skip("malformed", f"a change on page {page!r} is not an object")
            return
        if change.get("field") != "feed":
            d.events["field_other"] += 1
            return
        value = change.get("value")
        item = value.get("item") if isinstance(value, dict) else None
        if not isinstance(value, dict) or item not in FEED_ITEMS:
            d.events["feed_other"] += 1
            return
        d.events[item] += 1
        native_id = _id(value.get("comment_id" if item == "comment" else "post_id"))
        if native_id is None:
            self.skip("malformed", f"feed {item} without an id on page {page!r}")
            return
        verb = value.get("verb")
        if verb in ("add", "edited"):
            self.feed_mention(value, item, native_id, page, brand, at)
        elif verb in ("remove", "hide"):
            hidden = verb == "hide"
            by_page = hidden or _id(_get(value, "from", "id") or value.get("sender_id")) == page
            when = _seconds(value.get("created_time")) or at
            self.remove(Platform.FACEBOOK, native_id, brand, when, "page" if by_page else None, hidden)
        else:
            d.skipped["unhide" if verb == "unhide" else "verb"] += 1

    def feed_mention(
        self, value: Mapping[str, Any], item: str, native_id: str, page: str, brand: str, at: datetime
    ) -> None:
        text = value.get("message")
        if not isinstance(text, str) or not text.strip():
            self.delivery.skipped["no_text"] += 1
            return
        post_id = _id(value.get("post_id"))
        if item == "comment":
            thread_id, parent_id = post_id, _id(value.get("parent_id")) or post_id
        else:
            thread_id = parent_id = None
        self.publish(
            Platform.FACEBOOK,
            native_id,
            brand,
            sender=_sender(value),
            text=text,
            created_at=value.get("created_time", at),
            seconds=True,
            page=page,
            thread_id=thread_id,
            parent_id=parent_id,
            channel=Channel.PUBLIC,
        )

    # -- Messenger -------------------------------------------------------------------------------

    def messaging(self, event: object, page: str, brand: str) -> None:
        d = self.delivery
        message = event.get("message") if isinstance(event, dict) else None
        if not isinstance(event, dict) or not isinstance(message, dict):
            d.events["messaging_other"] += 1
            return
        echo = message.get("is_echo") is True
        deleted = message.get("is_deleted") is True
        d.events["message_deleted" if deleted else "echo" if echo else "message"] += 1
        sender = _id(_get(event, "sender", "id"))
        psid = _id(_get(event, "recipient", "id")) if echo else sender
        mid = _id(message.get("mid"))
        if sender is None or psid is None or mid is None:
            self.skip("malformed", f"messenger event without sender, recipient or mid on page {page!r}")
            return
        if deleted:
            when = _millis(event.get("timestamp")) or self.now
            self.remove(Platform.MESSENGER, mid, brand, when, "page" if sender == page else "author")
            return
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            d.skipped["no_text"] += 1
            return
        self.publish(
            Platform.MESSENGER,
            mid,
            brand,
            sender={"id": sender},
            text=text,
            created_at=event.get("timestamp"),
            seconds=False,
            page=page,
            thread_id=f"{page}-{psid}",
            parent_id=None,
            channel=Channel.PRIVATE,
            from_brand=echo or sender == page,
        )

    # -- shared ----------------------------------------------------------------------------------

    def publish(
        self,
        platform: Platform,
        native_id: str,
        brand: str,
        *,
        sender: object,
        text: str,
        created_at: object,
        seconds: bool,
        page: str,
        thread_id: str | None,
        parent_id: str | None,
        channel: Channel,
        from_brand: bool | None = None,
    ) -> None:
        mention_id = _short(f"{platform.value}:{native_id}")
        when = created_at if isinstance(created_at, datetime) else _epoch(created_at, seconds)
        if when is None:
            self.skip("invalid", f"{mention_id} of {brand} skipped: no readable time")
            return
        try:
            who = author(sender)
            mention = RawMention(
                platform=platform,
                native_id=native_id,
                brand=brand,
                author=who,
                text=text,
                created_at=when,
                parent_id=parent_id if parent_id != native_id else None,
                thread_id=thread_id if thread_id != native_id else None,
                source=Source.ADDRESSED,
                from_brand=who.id == page if from_brand is None else from_brand,
                channel=channel,
            )
        except ValidationError as exc:
            self.skip("invalid", f"{mention_id} of {brand} skipped: {_problem(exc)}")
            return
        self.delivery.mentions.append(mention)

    def remove(
        self,
        platform: Platform,
        native_id: str,
        brand: str,
        when: datetime,
        by: Literal["page", "author"] | None,
        hidden: bool = False,
    ) -> None:
        removal = Removal(f"{platform.value}:{native_id}", brand, when, removed_by=by, hidden=hidden)
        try:
            MentionRemoval(mention_id=removal.mention_id, brand=brand, removed_at=when, removed_by=by)
        except ValidationError as exc:
            self.skip("invalid", f"removal of {_short(removal.mention_id)} skipped: {_problem(exc)}")
            return
        self.delivery.removals.append(removal)

    def skip(self, reason: str, line: str) -> None:
        self.delivery.skipped[reason] += 1
        log.warning("webhook: %s", line)


# -- HTTP ----------------------------------------------------------------------------------------


def webhook_app(
    *,
    app_secret: str,
    verify_token: str,
    brands_by_page: Mapping[str, str],
    sink: Sink,
    path: str = "/webhooks/facebook",
    registry: CollectorRegistry | None = None,
) -> web.Application:
    """The endpoint at ``path``: GET answers Meta's subscription challenge, POST takes deliveries.
    Counters go to ``registry`` (a new one when None; ``app[METRICS].registry`` either way)."""
    if not app_secret or not verify_token:
        raise ValueError("the webhook needs a non-empty app secret and verify token")
    if not path.startswith("/"):
        raise ValueError(f"webhook path must start with '/': {path!r}")
    secret = app_secret.encode()
    token = verify_token.encode()
    brands = {str(page): brand for page, brand in brands_by_page.items()}
    metrics = WebhookMetrics(registry)

    async def verify(request: web.Request) -> web.Response:
        query = request.query
        given = query.get("hub.verify_token", "").encode("utf-8", "replace")
        if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(given, token):
            metrics.rejected.labels("verify_token").inc()
            log.warning("webhook: subscription challenge refused: wrong mode or verify token")
            return web.Response(status=403, text="forbidden")
        challenge = query.get("hub.challenge", "")
        if not challenge:
            return web.Response(status=400, text="no hub.challenge")
        log.info("webhook: subscription challenge answered")
        return web.Response(text=challenge, content_type="text/plain")

    async def receive(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _refuse(metrics, 413, "too_large", f"body of {request.content_length} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(metrics, 413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
        if not _signed(body, request.headers.get(SIGNATURE_HEADER), secret):
            missing = SIGNATURE_HEADER not in request.headers
            return _refuse(metrics, 403, "signature", "no signature" if missing else "wrong signature")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:
            return _refuse(metrics, 400, "json", f"body is not JSON ({type(exc).__name__})")
        try:
            delivery = read_delivery(payload, brands)
        except OtherObject as exc:
            metrics.skipped.labels("other_object").inc()
            log.warning("webhook: delivery ignored: %s", exc)
            return web.Response(text=RECEIVED)
        except ShapeError as exc:
            return _refuse(metrics, 400, "shape", str(exc))
        for kind, count in delivery.events.items():
            metrics.events.labels(kind).inc(count)
        for reason, count in delivery.skipped.items():
            metrics.skipped.labels(reason).inc(count)
        if delivery.mentions or delivery.removals:
            try:
                await sink(delivery.mentions, delivery.removals)
            except Exception as exc:
                metrics.sink_errors.inc()
                log.error(
                    "webhook: delivery of %d mentions and %d removals not published, answered 500 "
                    "for Meta to retry: %s: %s",
                    len(delivery.mentions),
                    len(delivery.removals),
                    type(exc).__name__,
                    _short(str(exc)),
                )
                return web.Response(status=500, text="not received, send again")
        for mention in delivery.mentions:
            metrics.published.labels(mention.brand, mention.platform.value).inc()
        for removal in delivery.removals:
            metrics.removals.labels(removal.brand).inc()
        return web.Response(text=RECEIVED)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[METRICS] = metrics
    app.router.add_get(path, verify)
    app.router.add_post(path, receive)
    return app


def signature(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _signed(body: bytes, header: str | None, secret: bytes) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
    given = header.removeprefix("sha256=").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


def _refuse(metrics: WebhookMetrics, status: int, reason: str, detail: str) -> web.Response:
    metrics.rejected.labels(reason).inc()
    log.warning("webhook: delivery refused (%d %s): %s", status, reason, detail)
    return web.Response(status=status, text=f"refused: {reason}")


# -- payload helpers -------------------------------------------------------------------------------


def _id(value: object) -> str | None:
    """An id Meta sends as a string or a number; None when absent or empty."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def _get(event: Mapping[str, Any], key: str, inner: str) -> object:
    outer = event.get(key)
    return outer.get(inner) if isinstance(outer, dict) else None


def _sender(value: Mapping[str, Any]) -> object:
    """``from``, or the ``sender_id``/``sender_name`` of deliveries before Graph API v2.11."""
    sender = value.get("from")
    if isinstance(sender, dict):
        return sender
    if "sender_id" in value:
        return {"id": value.get("sender_id"), "name": value.get("sender_name")}
    return None


def _epoch(value: object, seconds: bool) -> datetime | None:
    """Unix seconds (feed ``created_time``) or milliseconds (Messenger ``timestamp``) in UTC."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value if seconds else value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _seconds(value: object) -> datetime | None:
    return _epoch(value, seconds=True)


def _millis(value: object) -> datetime | None:
    return _epoch(value, seconds=False)


def _entry_time(value: object) -> datetime | None:
    """An entry's ``time``: seconds for feed changes, milliseconds for Messenger."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 10**11:
        return _millis(value)
    return _seconds(value)


def _problem(exc: ValidationError) -> str:
    """A validation error's first problem, on one line, without the input value."""
    problem = exc.errors()[0]
    return f"{'.'.join(map(str, problem['loc']))}: {_short(problem['msg'])}"


def _short(value: object, limit: int = 120) -> str:
    """One line, at most ``limit`` characters, for a log."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

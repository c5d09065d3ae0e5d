"""The Facebook/Messenger webhook endpoint on a real local server (aiohttp's TestServer): the
subscription challenge, signatures, how Meta's documented deliveries map to mentions and removals,
what is refused and counted, and that neither the app secret nor the verify token leaks."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from streams.collectors.facebook.webhooks import (
    ACCESS_LOG_FORMAT,
    MAX_BODY_BYTES,
    METRICS,
    RECEIVED,
    read_delivery,
    signature,
    webhook_app,
)
from streams.collectors.source import Removal
from streams.contracts.records import Channel, Platform, RawMention
from streams.contracts.records import Source as MentionSource

SECRET = "app-secret-5f0c2d9e8b7a41c3"
TOKEN = "verify-token-a1b2c3d4e5"
PAGE = "137542570280222"
BRAND = "zakupowo"
USER = "139560936744123"
PSID = "987654321432"
POST = f"{PAGE}_139560936744456"
T = 1767261600  # 2026-01-01 10:00:00 UTC, in Meta's unix seconds
AT = datetime.fromtimestamp(T, UTC)


@dataclass
class Sink:
    """Records each call; raises ``fail`` (once per item) when set."""

    calls: list[tuple[list[RawMention], list[Removal]]] = field(default_factory=list)
    fail: list[Exception] = field(default_factory=list)

    async def __call__(self, mentions: Sequence[RawMention], removals: Sequence[Removal]) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.calls.append((list(mentions), list(removals)))

    @property
    def mentions(self) -> list[RawMention]:
        return [m for call in self.calls for m in call[0]]

    @property
    def removals(self) -> list[Removal]:
        return [r for call in self.calls for r in call[1]]


@dataclass
class Endpoint:
    app: web.Application
    sink: Sink
    registry: CollectorRegistry

    def count(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(f"flarewatch_webhook_{name}_total", labels) or 0.0


@dataclass
class Reply:
    status: int
    text: str
    content_type: str


def endpoint(**brands: str) -> Endpoint:
    sink = Sink()
    registry = CollectorRegistry()
    app = webhook_app(
        app_secret=SECRET,
        verify_token=TOKEN,
        brands_by_page=brands or {PAGE: BRAND},
        sink=sink,
        registry=registry,
    )
    return Endpoint(app, sink, registry)


Scenario = Callable[[TestClient[Any, Any]], Awaitable[list[Reply]]]


def run(e: Endpoint, scenario: Scenario) -> list[Reply]:
    async def main() -> list[Reply]:
        server = TestServer(e.app)
        await server.start_server(access_log_format=ACCESS_LOG_FORMAT)
        async with TestClient(server) as client:
            return await scenario(client)

    return asyncio.run(main())


async def reply(response: Any) -> Reply:
    return Reply(response.status, await response.text(), response.content_type)


def post(*bodies: bytes | dict[str, Any], sign: str | None = "good") -> Scenario:
    """POST each body in turn, signed with the app secret (``sign="good"``), a wrong secret
    (``"bad"``) or not at all (None)."""

    async def scenario(client: TestClient[Any, Any]) -> list[Reply]:
        replies = []
        for body in bodies:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
            if sign == "good":
                headers["X-Hub-Signature-256"] = signature(raw, SECRET)
            elif sign == "bad":
                headers["X-Hub-Signature-256"] = signature(raw, "not-the-secret")
            replies.append(await reply(await client.post("/webhooks/facebook", data=raw, headers=headers)))
        return replies

    return scenario


def get(**query: str) -> Scenario:
    async def scenario(client: TestClient[Any, Any]) -> list[Reply]:
        return [await reply(await client.get("/webhooks/facebook", params=query))]

    return scenario


# -- Meta's payloads ------------------------------------------------------------------------------
# Shaped as in "Webhooks for Pages" (object page, entry[].changes[] with field feed) and the
# Messenger Platform's webhook events (entry[].messaging[] with sender, recipient, timestamp,
# message{mid, text}, is_echo on the page's own messages).


def feed(*values: dict[str, Any], page: str = PAGE) -> dict[str, Any]:
    changes = [{"field": "feed", "value": value} for value in values]
    return {"object": "page", "entry": [{"id": page, "time": T + 5, "changes": changes}]}


def messaging(*events: dict[str, Any], key: str = "messaging") -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE, "time": T * 1000 + 900, key: list(events)}]}


def comment(
    comment_id: str,
    message: str | None,
    *,
    parent: str = POST,
    sender: dict[str, str] | None = None,
    verb: str = "add",
    created: int = T,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "from": sender or {"id": USER, "name": "Anna Nowak"},
        "post": {
            "status_type": "added_photos",
            "is_published": True,
            "updated_time": "2026-01-01T10:00:00+0000",
            "permalink_url": f"https://www.facebook.com/{PAGE}/posts/139560936744456",
            "promotion_status": "inactive",
            "id": POST,
        },
        "comment_id": comment_id,
        "created_time": created,
        "item": "comment",
        "parent_id": parent,
        "post_id": POST,
        "verb": verb,
    }
    if message is not None:
        value["message"] = message
    return value


def status(post_id: str, message: str | None, verb: str = "add") -> dict[str, Any]:
    value: dict[str, Any] = {
        "from": {"id": USER, "name": "Anna Nowak"},
        "item": "status",
        "post_id": post_id,
        "verb": verb,
        "published": 1,
        "created_time": T,
    }
    if message is not None:
        value["message"] = message
    return value


def message(mid: str, text: str | None, *, echo: bool = False, ms: int = T * 1000 + 250) -> dict[str, Any]:
    body: dict[str, Any] = {"mid": mid}
    if text is not None:
        body["text"] = text
    else:
        body["attachments"] = [{"type": "image", "payload": {"url": "https://scontent.example/x.jpg"}}]
    if echo:
        body |= {"is_echo": True, "app_id": 1517776481860111}
        sender, recipient = PAGE, PSID
    else:
        sender, recipient = PSID, PAGE
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ms, "message": body}


# -- the subscription challenge -------------------------------------------------------------------


def test_challenge_with_the_verify_token_is_answered_with_the_challenge() -> None:
    e = endpoint()
    [r] = run(e, get(**{"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}))
    assert (r.status, r.text, r.content_type) == (200, "1158201444", "text/plain")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.verify_token": TOKEN[:-1], "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.challenge": "1158201444"},
        {},
    ],
)
def test_challenge_without_the_right_token_or_mode_is_forbidden(query: dict[str, str]) -> None:
    e = endpoint()
    [r] = run(e, get(**query))
    assert r.status == 403
    assert "1158201444" not in r.text and TOKEN not in r.text
    assert e.count("rejected", reason="verify_token") == 1


# -- deliveries that become mentions ---------------------------------------------------------------


def test_signed_deliveries_become_mentions_in_their_threads() -> None:
    e = endpoint()
    reply_id = "139560936744456_139620233405726"
    top_id = "139560936744456_139562213411528"
    page_reply_id = "139560936744456_140077616693321"
    comments = feed(
        status(POST, "Nowa dostawa już w sklepach!"),
        comment(top_id, "Gdzie moja paczka? Czekam od tygodnia."),
        comment(reply_id, "Też czekam!", parent=top_id),
        comment(
            page_reply_id,
            "Przepraszamy, sprawdzamy to.",
            parent=top_id,
            sender={"id": PAGE, "name": "Zakupowo"},
            created=T + 60,
        ),
    )
    inbox = messaging(
        message("m_customer-1", "Zamówienie 1234 nie dotarło"),
        message("m_page-1", "Już sprawdzamy, przepraszamy!", echo=True, ms=T * 1000 + 90_000),
    )

    replies = run(e, post(comments, inbox))

    assert [(r.status, r.text) for r in replies] == [(200, RECEIVED), (200, RECEIVED)]
    assert len(e.sink.calls) == 2
    by_id = {m.mention_id: m for m in e.sink.mentions}
    assert list(by_id) == [
        f"facebook:{POST}",
        f"facebook:{top_id}",
        f"facebook:{reply_id}",
        f"facebook:{page_reply_id}",
        "messenger:m_customer-1",
        "messenger:m_page-1",
    ]

    post_mention = by_id[f"facebook:{POST}"]
    assert (post_mention.thread_id, post_mention.parent_id) == (None, None)
    assert post_mention.thread_key == f"{BRAND}:facebook:{POST}"

    top = by_id[f"facebook:{top_id}"]
    assert top.platform is Platform.FACEBOOK and top.brand == BRAND
    assert (top.thread_id, top.parent_id) == (POST, POST)
    assert (top.author.id, top.author.name) == (USER, "Anna Nowak")
    assert top.text == "Gdzie moja paczka? Czekam od tygodnia."
    assert top.created_at == AT
    assert top.source is MentionSource.ADDRESSED and top.channel is Channel.PUBLIC
    assert not top.from_brand

    reply = by_id[f"facebook:{reply_id}"]
    assert (reply.thread_id, reply.parent_id) == (POST, top_id)

    page_reply = by_id[f"facebook:{page_reply_id}"]
    assert page_reply.from_brand and page_reply.author.id == PAGE
    assert (page_reply.thread_id, page_reply.parent_id) == (POST, top_id)
    assert page_reply.thread_key == top.thread_key

    customer, answer = by_id["messenger:m_customer-1"], by_id["messenger:m_page-1"]
    assert customer.platform is Platform.MESSENGER and customer.channel is Channel.PRIVATE
    assert (customer.author.id, customer.from_brand) == (PSID, False)
    assert (answer.author.id, answer.from_brand) == (PAGE, True)
    assert customer.thread_id == answer.thread_id == f"{PAGE}-{PSID}"
    assert customer.thread_key == answer.thread_key
    assert customer.created_at == datetime.fromtimestamp(T + 0.25, UTC)
    assert answer.created_at == datetime.fromtimestamp(T + 90, UTC)

    assert e.count("published", brand=BRAND, platform="facebook") == 4
    assert e.count("published", brand=BRAND, platform="messenger") == 2
    assert e.count("events", kind="comment") == 3
    assert e.count("events", kind="status") == 1
    assert e.count("events", kind="message") == 1
    assert e.count("events", kind="echo") == 1


def test_an_edited_comment_is_the_same_mention_again_with_its_new_text() -> None:
    e = endpoint()
    cid = "139560936744456_139597043408045"
    run(e, post(feed(comment(cid, "Great"), comment(cid, "Great, thanks!", verb="edited"))))
    assert [(m.mention_id, m.text) for m in e.sink.mentions] == [
        (f"facebook:{cid}", "Great"),
        (f"facebook:{cid}", "Great, thanks!"),
    ]


def test_messages_in_standby_are_read_like_messaging() -> None:
    e = endpoint()
    run(e, post(messaging(message("m_standby", "Halo?"), key="standby")))
    assert [m.mention_id for m in e.sink.mentions] == ["messenger:m_standby"]


def test_items_without_text_and_other_events_are_counted_not_published() -> None:
    e = endpoint()
    reaction = {
        "reaction_type": "like",
        "from": {"id": USER},
        "parent_id": POST,
        "comment_id": "139560936744456_139597090074707",
        "post_id": POST,
        "verb": "add",
        "item": "reaction",
        "created_time": T,
    }
    photo = {
        "item": "photo",
        "verb": "add",
        "post_id": f"{PAGE}_900767076685784",
        "photo_id": "900767076685784",
        "from": {"id": USER, "name": "Anna Nowak"},
        "link": "https://scontent.example/photo.jpg",
        "published": 1,
        "created_time": T,
    }
    delivery = feed(comment("1_2", None), photo, reaction)
    read = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE},
        "timestamp": T * 1000,
        "read": {"watermark": 1},
    }
    inbox = messaging(message("m_sticker", None), read)

    replies = run(e, post(delivery, inbox))

    assert [r.status for r in replies] == [200, 200]
    assert e.sink.calls == []
    assert e.count("skipped", reason="no_text") == 3
    assert e.count("events", kind="feed_other") == 1
    assert e.count("events", kind="messaging_other") == 1


def test_an_unknown_page_is_ignored_and_counted() -> None:
    e = endpoint()
    [r] = run(e, post(feed(comment("1_2", "hello"), page="555000111")))
    assert (r.status, r.text) == (200, RECEIVED)
    assert e.sink.calls == []
    assert e.count("skipped", reason="unknown_page") == 1


def test_an_invalid_mention_is_logged_and_skipped_the_rest_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="flarewatch.collect.webhooks")
    e = endpoint()
    future = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp())
    delivery = feed(
        comment("1_future", "from the future", created=future),
        comment("1_long", "x" * 20_001),
        comment("1_fine", "a fine comment"),
    )
    [r] = run(e, post(delivery))
    assert (r.status, r.text) == (200, RECEIVED)
    assert [m.native_id for m in e.sink.mentions] == ["1_fine"]
    assert e.count("skipped", reason="invalid") == 2
    lines = [rec.getMessage() for rec in caplog.records if "skipped" in rec.getMessage()]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert "facebook:1_future" in lines[0] and "created_at" in lines[0]
    assert "facebook:1_long" in lines[1] and "text" in lines[1] and "xxxx" not in lines[1]


# -- removals ----------------------------------------------------------------------------------------


def test_remove_and_hide_become_removals() -> None:
    e = endpoint()
    by_author = "139560936744456_139597043408045"
    by_page = "905578656204626_905579239537901"
    hidden = "900728623356296_900744590021366"
    delivery = feed(
        # the author deleted their comment: Meta sends from, no message
        {
            "from": {"id": USER},
            "parent_id": POST,
            "comment_id": by_author,
            "post_id": POST,
            "verb": "remove",
            "item": "comment",
            "created_time": T + 100,
        },
        # the page deleted a comment
        {
            "item": "comment",
            "verb": "remove",
            "comment_id": by_page,
            "post_id": POST,
            "parent_id": POST,
            "from": {"name": "Zakupowo", "id": PAGE},
        },
        comment(hidden, "and the next one", verb="hide", created=T + 200),
        {
            "recipient_id": PAGE,
            "from": {"id": USER},
            "item": "post",
            "post_id": f"{PAGE}_139610053406744",
            "verb": "remove",
            "created_time": T + 300,
        },
        comment("1_unhidden", "back again", verb="unhide"),
    )

    [r] = run(e, post(delivery))

    assert (r.status, r.text) == (200, RECEIVED)
    assert e.sink.mentions == []
    assert e.sink.removals == [
        Removal(f"facebook:{by_author}", BRAND, datetime.fromtimestamp(T + 100, UTC), removed_by=None),
        Removal(f"facebook:{by_page}", BRAND, datetime.fromtimestamp(T + 5, UTC), removed_by="page"),
        Removal(
            f"facebook:{hidden}", BRAND, datetime.fromtimestamp(T + 200, UTC), removed_by="page", hidden=True
        ),
        Removal(f"facebook:{PAGE}_139610053406744", BRAND, datetime.fromtimestamp(T + 300, UTC)),
    ]
    assert e.count("removals", brand=BRAND) == 4
    assert e.count("skipped", reason="unhide") == 1


def test_a_deleted_messenger_message_is_a_removal_by_its_author() -> None:
    e = endpoint()
    deleted = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE},
        "timestamp": T * 1000 + 5000,
        "message": {"is_deleted": True, "mid": "m_gone"},
    }
    run(e, post(messaging(deleted)))
    assert e.sink.removals == [
        Removal("messenger:m_gone", BRAND, datetime.fromtimestamp(T + 5, UTC), removed_by="author")
    ]


# -- refusals ----------------------------------------------------------------------------------------


def test_a_bad_or_missing_signature_is_forbidden_counted_and_never_parsed() -> None:
    e = endpoint()
    good = feed(comment("1_2", "hello"))

    async def scenario(client: TestClient[Any, Any]) -> list[Reply]:
        bad = await post(good, b"{not json", sign="bad")(client)
        return bad + await post(good, b"{not json", sign=None)(client)

    replies = run(e, scenario)
    assert [r.status for r in replies] == [403, 403, 403, 403]
    assert e.sink.calls == []
    assert e.count("rejected", reason="signature") == 4
    assert e.count("rejected", reason="json") == 0


def test_a_signature_over_another_body_is_forbidden() -> None:
    e = endpoint()
    signed = json.dumps(feed(comment("1_2", "hello"))).encode()
    tampered = signed.replace(b"hello", b"HELLO")

    async def scenario(client: TestClient[Any, Any]) -> list[Reply]:
        headers = {"X-Hub-Signature-256": signature(signed, SECRET)}
        return [await reply(await client.post("/webhooks/facebook", data=tampered, headers=headers))]

    [r] = run(e, scenario)
    assert r.status == 403 and e.sink.calls == []


def test_malformed_json_or_shape_after_a_good_signature_is_a_bad_request() -> None:
    e = endpoint()
    replies = run(
        e,
        post(
            b"{not json",
            b"\xff\xfe",
            b"[" * 100_000,
            b"[]",
            {"object": "page", "entry": {"id": PAGE}},
            {"object": "page", "entry": [{"time": T, "changes": []}]},
            {"object": "instagram", "entry": []},
        ),
    )
    assert [r.status for r in replies] == [400] * 6 + [200]  # another object: Meta must not retry it
    assert e.count("rejected", reason="json") == 3
    assert e.count("rejected", reason="shape") == 3
    assert e.count("skipped", reason="other_object") == 1
    assert e.sink.calls == []


def test_a_body_over_the_limit_is_refused() -> None:
    e = endpoint()
    big = b"x" * (MAX_BODY_BYTES + 1)

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    async def scenario(client: TestClient[Any, Any]) -> list[Reply]:
        declared = await post(big)(client)
        headers = {"X-Hub-Signature-256": signature(big, SECRET)}
        streamed = await client.post("/webhooks/facebook", data=chunked(), headers=headers)
        return [*declared, await reply(streamed)]

    replies = run(e, scenario)
    assert [r.status for r in replies] == [413, 413]
    assert e.count("rejected", reason="too_large") == 2
    assert e.sink.calls == []


def test_a_failing_sink_is_answered_500_and_the_retry_succeeds() -> None:
    e = endpoint()
    e.sink.fail.append(ConnectionError("broker unreachable"))
    delivery = feed(comment("1_2", "hello"))
    replies = run(e, post(delivery, delivery))
    assert [r.status for r in replies] == [500, 200]
    assert RECEIVED not in replies[0].text
    assert [m.native_id for m in e.sink.mentions] == ["1_2"]
    assert e.registry.get_sample_value("flarewatch_webhook_sink_errors_total") == 1
    assert e.count("published", brand=BRAND, platform="facebook") == 1


# -- secrets ------------------------------------------------------------------------------------------


def test_neither_the_secret_nor_the_token_appears_in_answers_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    e = endpoint()
    e.sink.fail.append(RuntimeError("publish failed"))
    delivery = feed(comment("1_2", "hello"), comment("1_3", "x", created=10**12))

    async def everything(client: TestClient[Any, Any]) -> list[Reply]:
        replies = await get(**{"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "42"})(
            client
        )
        replies += await get(**{"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"})(
            client
        )
        replies += await post(delivery, delivery, b"{bad", {"object": "user"})(client)
        replies += await post(delivery, sign="bad")(client)
        replies += await post(delivery, sign=None)(client)
        return replies

    replies = run(e, everything)

    assert [r.status for r in replies] == [200, 403, 500, 200, 400, 200, 403, 403]
    assert caplog.records, "the scenario logs"
    for text in [r.text for r in replies] + [caplog.text]:
        assert SECRET not in text
        assert TOKEN not in text
    assert all("\n" not in rec.getMessage() for rec in caplog.records)


def test_the_app_needs_a_secret_and_a_token() -> None:
    with pytest.raises(ValueError):
        webhook_app(app_secret="", verify_token=TOKEN, brands_by_page={}, sink=Sink())
    with pytest.raises(ValueError):
        webhook_app(app_secret=SECRET, verify_token="", brands_by_page={}, sink=Sink())


def test_the_metrics_are_on_the_app_and_in_the_given_registry() -> None:
    e = endpoint()
    assert e.app[METRICS].registry is e.registry


def test_read_delivery_accepts_numeric_ids_and_the_legacy_sender_fields() -> None:
    """Older deliveries carry numbers for ids and ``sender_id``/``sender_name`` instead of ``from``."""
    payload = {
        "object": "page",
        "entry": [
            {
                "id": int(PAGE),
                "time": T,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "item": "status",
                            "verb": "add",
                            "post_id": POST,
                            "sender_id": int(PAGE),
                            "sender_name": "Zakupowo",
                            "published": 1,
                            "created_time": T,
                            "message": "This is just a short test message",
                        },
                    }
                ],
            },
            {
                "id": int(PAGE),
                "time": T * 1000,
                "messaging": [
                    {
                        "sender": {"id": int(PSID)},
                        "recipient": {"id": int(PAGE)},
                        "timestamp": T * 1000,
                        "message": {"mid": "mid.1457764197618:41d102a3e1ae206a38", "seq": 73, "text": "hi"},
                    }
                ],
            },
        ],
    }
    delivery = read_delivery(payload, {PAGE: BRAND})
    first, second = delivery.mentions
    assert (first.author.id, first.author.name, first.from_brand) == (PAGE, "Zakupowo", True)
    assert (second.author.id, second.thread_id) == (PSID, f"{PAGE}-{PSID}")

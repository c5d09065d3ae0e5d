"""RSS and Atom feeds (streams/collectors/feeds.py) against a local feed server
(tests/fakes/feed_server.py): the mapping, conditional GET, each entry exactly once across polls,
HTML reduced to text, broken feeds and failing servers."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from streams.collectors.feeds import FeedSource, Listing, RetryPolicy, feed_name, feed_sources, html_to_text
from streams.collectors.http import Unreachable
from streams.collectors.source import Batch, Checkpoint, SourceStopped
from streams.config.brands import BrandSettings
from streams.config.settings import Settings
from streams.contracts.records import Channel, Platform, Source
from tests.fakes.feed_server import FeedServer, Item, Reply, atom, http_date, rss
from tests.fakes.stats import RecordingStats

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
ZAKUPOWO = Listing("zakupowo", Platform.FORUM)
FOTOMAT = Listing("fotomat", Platform.REVIEW)


def Recorder() -> RecordingStats:
    return RecordingStats(clock=NOW)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def poll(src: FeedSource, checkpoint: Checkpoint | None, rec: RecordingStats | None = None) -> list[Batch]:
    return list(src.poll(checkpoint, (rec or Recorder()).context()))


def item(n: int, hours_ago: float = 1.0, **fields: object) -> Item:
    values: dict[str, object] = {
        "id": f"https://forum.example.pl/t/{n}",
        "title": f"Temat {n}",
        "html": f"<p>Post {n} o Zakupowo</p>",
        "link": f"https://forum.example.pl/t/{n}",
        "published": NOW - timedelta(hours=hours_ago),
        "author": f"user{n}",
    }
    values.update(fields)
    return Item(**values)  # type: ignore[arg-type]


def ids(batches: list[Batch]) -> list[str]:
    return [m.native_id for b in batches for m in b.mentions]


# -- mapping ---------------------------------------------------------------------------------------


def test_rss_entries_become_one_mention_per_listing_brand(server: FeedServer) -> None:
    markup = (
        "<p>Płatność <b>BLIK</b> &amp; karta nie działa<br/>od rana</p>"
        "<script>alert('x')</script><style>p {color: red}</style><ul><li>jeden</li><li>dwa</li></ul>"
    )
    server.serve(
        "/forum.xml",
        rss(
            [
                item(1, hours_ago=1, html=markup),
                item(2, hours_ago=3, id="4711", link="/t/4711"),  # a forum's own number, a relative link
                item(3, hours_ago=2, id=None, author=None),
            ]
        ),
    )
    url = server.url("/forum.xml")
    src = FeedSource(url, [ZAKUPOWO, FOTOMAT])
    assert (src.name, src.family, src.brand) == (
        f"feed-{hashlib.sha256(url.encode()).hexdigest()[:12]}",
        "feeds",
        None,
    )
    rec = Recorder()

    [batch] = poll(src, None, rec)

    assert rec.fetched_counts == [3] and rec.errors == [] and rec.newest_at == [NOW - timedelta(hours=1)]
    mentions = batch.mentions
    assert [(m.native_id, m.brand) for m in mentions] == [
        (f"{src.name}:4711", "zakupowo"),
        (f"{src.name}:4711", "fotomat"),
        ("https://forum.example.pl/t/3", "zakupowo"),
        ("https://forum.example.pl/t/3", "fotomat"),
        ("https://forum.example.pl/t/1", "zakupowo"),
        ("https://forum.example.pl/t/1", "fotomat"),
    ], "oldest first; a local id is the feed's own; no id: the link"
    first = mentions[-2]
    assert first.text == "Temat 1\n\nPłatność BLIK & karta nie działa\nod rana\njeden\ndwa"
    assert (first.platform, mentions[-1].platform) == (Platform.FORUM, Platform.REVIEW)
    assert (first.source, first.channel, first.lang) == (Source.SEARCH, Channel.PUBLIC, "pl")
    assert first.created_at == NOW - timedelta(hours=1)
    assert first.url == "https://forum.example.pl/t/1"
    assert (first.author.id, first.author.name, first.author.followers) == ("user1", "user1", None)
    assert first.thread_id is None and first.parent_id is None
    local = mentions[0]
    assert local.url == server.url("/t/4711"), "relative links resolved against the feed's URL"
    assert mentions[2].author.id == "forum.example.pl", "no author: the site"
    assert batch.checkpoint is not None and set(batch.checkpoint["seen"]) == {
        f"{src.name}:4711",
        "https://forum.example.pl/t/3",
        "https://forum.example.pl/t/1",
    }


def test_atom_entries(server: FeedServer) -> None:
    entries = [
        Item("tag:opinie.example.hu,2026:1", "Lassú szállítás", "<div>Nem jött meg a <i>csomag</i></div>",
             "https://opinie.example.hu/1", NOW - timedelta(days=2), "Kovács Anna"),
        Item("tag:opinie.example.hu,2026:2", "Nincs dátum", "<p>szöveg</p>", None, None, None),
    ]  # fmt: skip
    server.serve("/opinie.atom", atom(entries), content_type="application/atom+xml")
    rec = Recorder()
    [batch] = poll(FeedSource(server.url("/opinie.atom"), [FOTOMAT]), None, rec)
    first, second = batch.mentions
    assert first.native_id == "tag:opinie.example.hu,2026:1" and first.platform == Platform.REVIEW
    assert first.text == "Lassú szállítás\n\nNem jött meg a csomag"
    assert first.author.name == "Kovács Anna" and first.created_at == NOW - timedelta(days=2)
    assert first.lang == "hu"
    assert second.created_at == NOW, "no date: when first seen"
    assert second.url is None and second.author.id == "127.0.0.1"


def test_long_and_odd_ids_are_hashed_stably(server: FeedServer) -> None:
    long_id = "https://forum.example.pl/viewtopic.php?" + "&".join(f"p{i}=x" for i in range(40))
    server.serve("/forum.xml", rss([item(1, id=long_id), item(2, id="post 2 of thread")]))
    src = FeedSource(server.url("/forum.xml"), [ZAKUPOWO])
    first, second = (ids(poll(src, None)), ids(poll(src, None)))
    assert first == second and all(len(i) <= 64 and " " not in i for i in first)
    assert all(i.startswith(f"{src.name}:h") for i in first)


def test_html_to_text() -> None:
    assert html_to_text("<p>a&nbsp;&lt;b&gt;</p><p>c<br>d</p>") == "a\xa0<b>\nc\nd".replace("\xa0", " ")
    assert html_to_text("x<script>y</script><style>z</style> w") == "x w"
    assert html_to_text("<b>unclosed <i>tags") == "unclosed tags"
    assert html_to_text("") == ""


# -- conditional GET and exactly once ----------------------------------------------------------------


def test_conditional_get_sends_the_validators_and_304_is_nothing_new(server: FeedServer) -> None:
    modified = http_date(NOW - timedelta(hours=1))
    server.serve("/forum.xml", rss([item(1)]), etag='"v1"', last_modified=modified)
    src = FeedSource(server.url("/forum.xml"), [ZAKUPOWO])
    [first] = poll(src, None)
    assert first.checkpoint is not None
    assert (first.checkpoint["etag"], first.checkpoint["last_modified"]) == ('"v1"', modified)
    asked = server.requests[0].headers
    assert "if-none-match" not in asked and "if-modified-since" not in asked

    rec = Recorder()
    assert poll(src, first.checkpoint, rec) == [], "304: no batch, the checkpoint stays"
    asked = server.requests[1].headers
    assert (asked["if-none-match"], asked["if-modified-since"]) == ('"v1"', modified)
    assert rec.fetched_counts == [0]

    server.serve("/forum.xml", rss([item(1), item(2, hours_ago=0.5)]), etag='"v2"', last_modified=modified)
    [second] = poll(src, first.checkpoint)
    assert ids([second]) == ["https://forum.example.pl/t/2"] and second.checkpoint is not None
    assert second.checkpoint["etag"] == '"v2"'


def test_last_modified_alone_is_used_too(server: FeedServer) -> None:
    modified = http_date(NOW - timedelta(hours=1))
    server.serve("/news.xml", rss([item(1)]), last_modified=modified)
    src = FeedSource(server.url("/news.xml"), [ZAKUPOWO])
    [first] = poll(src, None)
    assert poll(src, first.checkpoint) == []
    assert server.requests[-1].headers["if-modified-since"] == modified
    assert "if-none-match" not in server.requests[-1].headers


def test_each_entry_is_published_once_across_polls(server: FeedServer) -> None:
    """The server ignores validators here (no ETag, no Last-Modified): only the seen ids keep an
    entry from coming back, while it stays in the feed for weeks, and when it leaves and returns."""
    path = "/forum.xml"
    src = FeedSource(server.url(path), [ZAKUPOWO, FOTOMAT])
    rec = Recorder()
    published: list[str] = []
    checkpoint: Checkpoint | None = None

    def run(items: list[Item], days_later: float = 0) -> list[str]:
        nonlocal checkpoint
        server.serve(path, rss(items))
        rec.clock = NOW + timedelta(days=days_later)
        batches = poll(src, checkpoint, rec)
        for batch in batches:
            checkpoint = batch.checkpoint or checkpoint
        new = [f"{m.native_id}@{m.brand}" for b in batches for m in b.mentions]
        published.extend(new)
        return new

    assert len(run([item(1), item(2)])) == 4
    assert run([item(2), item(3)]) == [
        "https://forum.example.pl/t/3@zakupowo",
        "https://forum.example.pl/t/3@fotomat",
    ]
    assert run([item(1), item(2), item(3)]) == [], "item 1 left and came back: still seen"
    assert run([item(2), item(3)], days_later=20) == []
    assert run([item(2), item(3)], days_later=45) == [], "item 2 stayed in the feed for 45 days"
    assert checkpoint is not None and "https://forum.example.pl/t/1" not in checkpoint["seen"], (
        "an id gone from the feed is forgotten after the retention"
    )
    assert run([item(2), item(3), item(4)], days_later=46) == [
        "https://forum.example.pl/t/4@zakupowo",
        "https://forum.example.pl/t/4@fotomat",
    ]
    assert len(published) == len(set(published)) == 8


def test_duplicate_ids_in_one_fetch_count_once(server: FeedServer) -> None:
    server.serve("/forum.xml", rss([item(1), item(1, title="copy"), item(2, hours_ago=2)]))
    [batch] = poll(FeedSource(server.url("/forum.xml"), [ZAKUPOWO]), None)
    assert [(m.native_id, m.text.partition("\n")[0]) for m in batch.mentions] == [
        ("https://forum.example.pl/t/2", "Temat 2"),
        ("https://forum.example.pl/t/1", "Temat 1"),
    ]


# -- broken feeds and failing servers ---------------------------------------------------------------


def test_a_malformed_feed_is_counted_and_logged_once(
    server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.serve("/broken.xml", b"<html><body>Maintenance <b>until 5", content_type="text/html")
    src = FeedSource(server.url("/broken.xml?key=s3cret"), [ZAKUPOWO])
    rec = Recorder()
    with caplog.at_level(logging.WARNING, logger="streams.collectors.feeds"):
        assert poll(src, {"etag": '"old"', "last_modified": None, "seen": {"x": 1}}, rec) == []
    assert rec.errors == ["feed_malformed"]
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"{src.name}: {server.url('/broken.xml')} is not a feed that can be read (")
    assert "\n" not in line and "s3cret" not in line


def test_a_feed_with_a_defect_but_entries_is_read(server: FeedServer) -> None:
    body = rss([item(1)]).replace(
        b"</channel></rss>", b"<item><title>cut &nbsp; off</title></item></channel>"
    )
    server.serve("/forum.xml", body)
    rec = Recorder()
    assert (
        ids(poll(FeedSource(server.url("/forum.xml"), [ZAKUPOWO]), None, rec))[0]
        == "https://forum.example.pl/t/1"
    )
    assert rec.errors == []


def test_server_errors_are_retried_then_unreachable(server: FeedServer) -> None:
    server.serve("/forum.xml", rss([item(1)]))
    src = FeedSource(server.url("/forum.xml"), [ZAKUPOWO])
    server.script.extend([Reply(503), Reply(429, headers={"retry-after": "7"})])
    rec = Recorder()
    assert len(ids(poll(src, None, rec))) == 1
    assert rec.sleeps == [2.0, 7.0] and rec.waits == [7.0] and rec.errors == ["http_503", "http_429"]

    server.script.extend([Reply(500)] * 3)
    rec = Recorder()
    with pytest.raises(Unreachable, match=r"feed-\w+: http://127\.0\.0\.1:\d+/forum\.xml answered 500"):
        poll(src, None, rec)
    assert rec.errors == ["http_500"] * 3 and rec.sleeps == [2.0, 4.0]


def test_no_answer_is_unreachable() -> None:
    with FeedServer() as gone:
        url = gone.url("/forum.xml")
    rec = Recorder()
    with pytest.raises(Unreachable, match="did not answer"):
        poll(FeedSource(url, [ZAKUPOWO], policy=RetryPolicy(attempts=2)), None, rec)
    assert rec.errors == ["unreachable"] * 2


def test_a_missing_feed_stops_the_source_and_other_refusals_wait(
    server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    src = FeedSource(server.url("/gone.xml?token=s3cret"), [ZAKUPOWO])
    with pytest.raises(SourceStopped) as stopped:
        poll(src, None)
    assert str(stopped.value) == f"{src.name}: {server.url('/gone.xml')} answered 404: fix or remove the feed"

    server.script.append(Reply(400, b"bad"))
    rec = Recorder()
    with caplog.at_level(logging.WARNING):
        assert poll(src, None, rec) == []
    assert rec.errors == ["http_400"] and "answered 400; trying again next poll" in caplog.text
    assert "s3cret" not in caplog.text


# -- sources from the settings -----------------------------------------------------------------------


def test_feed_sources_one_per_url_with_every_brand_listing_it() -> None:
    shared, own = "https://forum.example.pl/feed", "https://opinie.example.pl/rss"
    settings = Settings(
        brands=(
            BrandSettings.model_validate(
                {"name": "zakupowo", "terms": ["zakupowo"], "feeds": [shared, shared]}
            ),
            BrandSettings.model_validate(
                {
                    "name": "fotomat",
                    "terms": ["fotomat"],
                    "feeds": [{"url": own, "platform": "review"}, shared],
                }
            ),
            BrandSettings.model_validate({"name": "quiet", "terms": ["quiet"]}),
        )
    )
    found = feed_sources(settings)
    assert [(s.url, s.name, s.listings) for s in found] == [
        (
            shared,
            feed_name(shared),
            (Listing("zakupowo", Platform.FORUM), Listing("fotomat", Platform.FORUM)),
        ),
        (own, feed_name(own), (Listing("fotomat", Platform.REVIEW),)),
    ]
    assert feed_sources(Settings()) == []

"""The Facebook page source against a local Graph API (tests/fakes/graph_api.py): what it reads,
how it maps it, its checkpoints (exactly once across polls and from every checkpoint), removals,
rate limits, throttling, failures, and that the page token goes nowhere but the header."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streams.collectors.facebook.graph import RetryPolicy, usage_delay, usage_of
from streams.collectors.facebook.mapping import UNKNOWN_AUTHOR, graph_time
from streams.collectors.facebook.pages import PageSource, page_sources
from streams.collectors.http import Unreachable
from streams.collectors.source import Batch, Checkpoint, Source, SourceContext, SourceStopped
from streams.config.collectors import FacebookCollector
from streams.config.secrets import SecretError
from streams.config.settings import load_settings
from streams.contracts.records import Channel, Platform, RawMention
from streams.contracts.records import Source as MentionSource
from tests.fakes.graph_api import TOKEN, FakeGraph, Fault

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PAGE = "1001"
IG = "1784"


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


@dataclass
class Recorder:
    """A Stats and a clock: ``sleep`` records and moves ``now`` on, never really sleeps."""

    at: datetime = NOW
    sleeps: list[float] = field(default_factory=list)
    fetched_items: int = 0
    errors: list[str] = field(default_factory=list)
    limited: list[float] = field(default_factory=list)
    newest_seen: list[datetime] = field(default_factory=list)

    def fetched(self, count: int) -> None:
        self.fetched_items += count

    def error(self, kind: str) -> None:
        self.errors.append(kind)

    def rate_limited(self, seconds: float) -> None:
        self.limited.append(seconds)

    def newest(self, at: datetime) -> None:
        self.newest_seen.append(at)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.at += timedelta(seconds=seconds)

    def now(self) -> datetime:
        return self.at

    def context(self) -> SourceContext:
        return SourceContext(stats=self, sleep=self.sleep, now=self.now)


def source(graph: FakeGraph, page_size: int = 2, instagram: bool = True, **settings: object) -> PageSource:
    facebook = FacebookCollector(api_url=graph.url, page_size=page_size, lookback_hours=24, **settings)  # type: ignore[arg-type]
    policy = RetryPolicy(attempts=4, backoff_s=1.0, throttle_s=60.0)
    return PageSource(
        "zakupowo", PAGE, graph.token, facebook, instagram_id=IG if instagram else None, policy=policy
    )


def poll(src: PageSource, checkpoint: Checkpoint | None = None, clock: Recorder | None = None) -> list[Batch]:
    batches = list(src.poll(checkpoint, (clock or Recorder()).context()))
    for batch in batches:
        assert batch.checkpoint is not None
        assert json.loads(json.dumps(batch.checkpoint)) == batch.checkpoint, "checkpoints are JSON"
    return batches


def mentions(batches: list[Batch]) -> list[RawMention]:
    return [m for b in batches for m in b.mentions]


def ids(batches: list[Batch]) -> list[str]:
    return [m.native_id for m in mentions(batches)]


def by_id(batches: list[Batch]) -> dict[str, RawMention]:
    return {m.native_id: m for m in mentions(batches)}


def last_checkpoint(batches: list[Batch], before: Checkpoint | None = None) -> Checkpoint | None:
    return next((b.checkpoint for b in reversed(batches) if b.checkpoint is not None), before)


def fill(graph: FakeGraph) -> None:
    """A day on Zakupowo's page: five posts (one a photo alone), a visitor post, a comment thread
    with replies, a Messenger conversation and an Instagram post with comments."""
    graph.post("1001_900", "Stara promocja", ago(30))
    for n in range(5):
        graph.post(f"1001_{n}", f"Promocja dnia {n}", ago(20 - n))
    graph.post("1001_photo", None, ago(14))
    graph.post(
        "1001_v1",
        "Gdzie moja paczka? Zamówienie 123",
        ago(12),
        author=("2001", "Anna Kowalska"),
        visitor=True,
    )
    graph.comment("1001_0", "1001_0_c1", "BLIK nie działa od rana", ago(10))
    graph.comment(
        "1001_0",
        "1001_0_c2",
        "Przepraszamy, sprawdzamy!",
        ago(9),
        author=(PAGE, "Zakupowo.pl"),
        parent="1001_0_c1",
    )
    graph.comment("1001_0", "1001_0_c3", "u mnie też", ago(8), author=("2003", "Piotr"), parent="1001_0_c1")
    graph.comment("1001_0", "1001_0_c4", None, ago(7))  # a sticker alone
    graph.comment("1001_0", "1001_0_c5", "oszuści", ago(6), author=None)
    graph.message("t_1", "m_1", "Dzień dobry, kurier nie przyszedł", ago(5))
    graph.message("t_1", "m_2", "", ago(4.5))  # a photo alone
    graph.message("t_1", "m_3", "Prosimy o numer zamówienia", ago(4), from_page=True)
    graph.media("ig_1", "Nowa kolekcja ☀️", ago(11))
    graph.ig_comment("ig_1", "ig_c1", "super!", ago(3))
    graph.ig_comment("ig_1", "ig_c2", "Dziękujemy 💛", ago(2), user=(IG, "zakupowo"), reply_to="ig_c1")
    graph.ig_comment("ig_1", "ig_c3", "a kiedy zwrot?", ago(1), user=("3002", "marek_k"))


EXPECTED = {
    *(f"1001_{n}" for n in range(5)),
    "1001_v1",
    "1001_0_c1",
    "1001_0_c2",
    "1001_0_c3",
    "1001_0_c5",
    "m_1",
    "m_3",
    "ig_1",
    "ig_c1",
    "ig_c2",
    "ig_c3",
}


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(page_id=PAGE, instagram_id=IG) as fake:
        fill(fake)
        yield fake


def test_it_is_a_source_named_for_its_brand(graph: FakeGraph) -> None:
    src: Source = source(graph)
    assert (src.name, src.family, src.brand) == ("facebook-zakupowo", "pages", "zakupowo")
    assert TOKEN not in repr(src)


def test_a_first_poll_reads_the_window_once_across_pages(graph: FakeGraph) -> None:
    clock = Recorder()
    batches = poll(source(graph), clock=clock)
    assert sorted(ids(batches)) == sorted(EXPECTED)
    assert len(ids(batches)) == len(EXPECTED)
    posts = [r for r in graph.requests if r.path == f"{PAGE}/posts"]
    assert len(posts) == 3, "five posts in the window, two a page"
    assert [r.params.get("after") is not None for r in posts] == [False, True, True]
    cutoff = int(ago(24).timestamp())
    assert {r.params["since"] for r in posts} == {str(cutoff - 1)}
    assert posts[0].params["fields"] == "id,message,created_time,from,permalink_url,updated_time"
    assert all(r.params["limit"] == "2" for r in graph.requests)
    assert "1001_900" not in ids(batches), "older than the lookback"
    page_posts = [
        m.native_id for m in mentions(batches) if m.native_id.startswith("1001_") and "_c" not in m.native_id
    ]
    assert page_posts[:5] == [f"1001_{n}" for n in range(5)], "oldest first"
    assert all(
        len(b.mentions) <= 2
        for b in batches
        if b.mentions and b.mentions[0].platform is not Platform.INSTAGRAM
    )
    assert clock.fetched_items >= len(EXPECTED)
    assert max(clock.newest_seen) == ago(1)
    assert clock.sleeps == [] and clock.errors == []


def test_the_mapping_of_posts_and_comments(graph: FakeGraph) -> None:
    got = by_id(poll(source(graph)))
    post = got["1001_0"]
    assert post.platform is Platform.FACEBOOK and post.source is MentionSource.ADDRESSED
    assert post.from_brand and post.channel is Channel.PUBLIC and post.brand == "zakupowo"
    assert post.created_at == ago(20) and post.url == "https://www.facebook.com/1001/posts/1001_0"
    assert (post.thread_id, post.parent_id) == (None, None)
    visitor = got["1001_v1"]
    assert not visitor.from_brand and visitor.author.id == "2001" and visitor.author.name == "Anna Kowalska"
    comment = got["1001_0_c1"]
    assert (comment.thread_id, comment.parent_id, comment.from_brand) == ("1001_0", "1001_0", False)
    assert comment.text == "BLIK nie działa od rana" and comment.mention_id == "facebook:1001_0_c1"
    assert comment.url == "https://www.facebook.com/1001_0?comment_id=1001_0_c1"
    assert got["1001_0_c5"].author.id == UNKNOWN_AUTHOR, "Graph left out `from`"
    assert "1001_photo" not in got and "1001_0_c4" not in got, "no text: skipped"


def test_replies_are_linked_to_their_parent_and_thread(graph: FakeGraph) -> None:
    got = by_id(poll(source(graph)))
    brand_reply, other_reply = got["1001_0_c2"], got["1001_0_c3"]
    assert (brand_reply.parent_id, brand_reply.thread_id, brand_reply.from_brand) == (
        "1001_0_c1",
        "1001_0",
        True,
    )
    assert (other_reply.parent_id, other_reply.thread_id, other_reply.from_brand) == (
        "1001_0_c1",
        "1001_0",
        False,
    )
    assert brand_reply.thread_key == got["1001_0_c1"].thread_key == got["1001_0"].thread_key
    comments = [r for r in graph.requests if r.path == "1001_0/comments"]
    assert comments[0].params["filter"] == "stream" and comments[0].params["order"] == "chronological"
    assert comments[0].params["fields"] == "id,message,created_time,from,parent,permalink_url"
    assert comments[0].params["since"] == str(int(ago(24).timestamp()) - 1)


def test_messenger_messages_are_private_and_threaded_by_conversation(graph: FakeGraph) -> None:
    got = by_id(poll(source(graph)))
    customer, page = got["m_1"], got["m_3"]
    assert customer.platform is Platform.MESSENGER and customer.channel is Channel.PRIVATE
    assert (customer.thread_id, customer.parent_id, customer.from_brand) == ("t_1", None, False)
    assert customer.author.name == "Jan Nowak"
    assert page.from_brand and page.thread_id == "t_1" and page.channel is Channel.PRIVATE
    assert "m_2" not in got, "a photo alone"
    listing = next(r for r in graph.requests if r.path == f"{PAGE}/conversations")
    assert listing.params["platform"] == "messenger"
    messages = next(r for r in graph.requests if r.path == "t_1/messages")
    assert messages.params["fields"] == "id,message,created_time,from,to"


def test_instagram_media_comments_and_replies(graph: FakeGraph) -> None:
    graph.reply_page = 1
    graph.ig_comment("ig_1", "ig_c4", "i jeszcze jedno", ago(0.5), user=("3003", "ola"), reply_to="ig_c1")
    got = by_id(poll(source(graph)))
    media, comment, reply = got["ig_1"], got["ig_c1"], got["ig_c2"]
    assert media.platform is Platform.INSTAGRAM and media.from_brand and media.author.name == "zakupowo"
    assert media.url == "https://www.instagram.com/p/ig_1/"
    assert (comment.thread_id, comment.parent_id, comment.from_brand) == ("ig_1", "ig_1", False)
    assert comment.author.id == "3001" and comment.author.name == "kasia.zakupy"
    assert (reply.thread_id, reply.parent_id, reply.from_brand) == ("ig_1", "ig_c1", True)
    assert got["ig_c4"].parent_id == "ig_c1", "a reply beyond the first page of replies"
    assert "ig_c1/replies" in graph.paths()
    first = next(r for r in graph.requests if r.path == "ig_1/comments")
    assert (
        first.params["fields"] == "id,text,timestamp,username,from,replies{id,text,timestamp,username,from}"
    )


def test_each_item_once_across_polls(graph: FakeGraph) -> None:
    src = source(graph)
    first = poll(src)
    checkpoint = last_checkpoint(first)
    assert poll(src, checkpoint) == [], "nothing new, nothing published, no state change"
    # New activity, some of it in the very second the watermarks stand at.
    graph.post("1001_5", "Nowy post", ago(14))  # the same second as the newest post (a photo)
    graph.post("1001_6", "Jeszcze jeden", ago(0.5))
    graph.comment("1001_1", "1001_1_c1", "kiedy dostawa?", ago(0.2))
    graph.comment("1001_0", "1001_0_c6", "nadal nie działa", ago(10))  # the same second as c1
    graph.message("t_1", "m_4", "Numer 123", ago(4))  # the same second as m_3
    graph.message("t_2", "m_5", "Czy mogę zwrócić?", ago(0.1))
    graph.ig_comment("ig_1", "ig_c5", "kiedy wysyłka?", ago(0.3))
    second = poll(src, checkpoint)
    since = [r.params["since"] for r in graph.requests if r.path == f"{PAGE}/posts"][-1]
    assert since == str(int(ago(14).timestamp()) - 1), "from the second of the newest post read"
    assert sorted(ids(second)) == sorted(
        ["1001_5", "1001_6", "1001_1_c1", "1001_0_c6", "m_4", "m_5", "ig_c5"]
    )
    assert poll(src, last_checkpoint(second, checkpoint)) == []


def test_resuming_from_any_checkpoint_neither_skips_nor_repeats(graph: FakeGraph) -> None:
    graph.post("1001_5", "ten sam moment", ago(16))  # two posts in one second across a batch edge
    src = source(graph)
    full = poll(src)
    everything = ids(full)
    assert len(everything) == len(set(everything)) == len(EXPECTED) + 1
    for n, batch in enumerate(full):
        resumed_from = json.loads(json.dumps(batch.checkpoint))
        rest = poll(src, resumed_from)
        union = Counter(ids(full[: n + 1]) + ids(rest))
        assert set(union) == set(everything), (
            f"resumed after batch {n}: skipped {set(everything) - set(union)}"
        )
        assert max(union.values()) == 1, (
            f"resumed after batch {n}: repeated {[k for k, v in union.items() if v > 1]}"
        )


def test_resuming_with_news_arriving_meanwhile(graph: FakeGraph) -> None:
    full = poll(source(graph, page_size=1))
    graph.post("1001_5", "ten sam moment", ago(14))  # the second of the newest post
    graph.comment("1001_2", "1001_2_c1", "halo?", ago(0.1))
    graph.message("t_1", "m_4", "Numer 123", ago(4))  # the second of the newest message
    src = source(graph, page_size=1)
    for n, batch in enumerate(full):
        union = Counter(ids(full[: n + 1]) + ids(poll(src, batch.checkpoint)))
        assert set(union) == EXPECTED | {"1001_5", "1001_2_c1", "m_4"}, n
        assert max(union.values()) == 1, n


def test_an_older_post_stays_active_while_it_has_comments(graph: FakeGraph) -> None:
    src = source(graph)
    clock = Recorder()
    checkpoint = last_checkpoint(poll(src, clock=clock))
    graph.comment("1001_0", "1001_0_c7", "wciąż czekam", ago(-16))
    clock.at = NOW + timedelta(hours=17)  # the post is 37 hours old; its last comment was 23 hours ago
    second = poll(src, checkpoint, clock)
    assert ids(second) == ["1001_0_c7"]
    checkpoint = last_checkpoint(second, checkpoint)
    graph.comment("1001_0", "1001_0_c8", "halo?", ago(-29))
    clock.at = NOW + timedelta(hours=30)  # the post is 50 hours old; c7 came 14 hours ago
    third = poll(src, checkpoint, clock)
    assert ids(third) == ["1001_0_c8"]
    threads = last_checkpoint(third, checkpoint)["threads"]  # type: ignore[index]
    assert set(threads) == {"1001_0"}, "the others had no activity within 24 hours: no longer read"
    assert set(threads["1001_0"]["known"]) == {"1001_0_c7", "1001_0_c8"}, (
        "known ids are bounded by the window"
    )
    assert [r.params["since"] for r in graph.requests if r.path == "1001_0/comments"][-1] == str(
        int((NOW + timedelta(hours=6)).timestamp()) - 1
    )


def test_a_deleted_comment_becomes_a_removal_once(graph: FakeGraph) -> None:
    src = source(graph)
    checkpoint = last_checkpoint(poll(src))
    graph.delete("1001_0_c1")  # its replies go with it
    later = poll(src, checkpoint)
    removals = [r for b in later for r in b.removals]
    assert sorted(r.mention_id for r in removals) == [
        "facebook:1001_0_c1",
        "facebook:1001_0_c2",
        "facebook:1001_0_c3",
    ]
    assert all(r.removed_by is None and r.brand == "zakupowo" and not r.hidden for r in removals)
    assert all(r.removed_at == NOW for r in removals)
    assert {r.mention_id: r.created_at for r in removals}["facebook:1001_0_c1"] == ago(10)
    assert ids(later) == []
    assert poll(src, last_checkpoint(later, checkpoint)) == [], "told once"


def test_a_deleted_post_removes_itself_and_its_comments(graph: FakeGraph) -> None:
    src = source(graph)
    checkpoint = last_checkpoint(poll(src))
    graph.delete("1001_0")
    graph.delete("ig_c3")
    later = poll(src, checkpoint)
    removed = sorted(r.mention_id for b in later for r in b.removals)
    assert removed == [
        "facebook:1001_0",
        "facebook:1001_0_c1",
        "facebook:1001_0_c2",
        "facebook:1001_0_c3",
        "facebook:1001_0_c5",
        "instagram:ig_c3",
    ]
    assert "1001_0" not in last_checkpoint(later, checkpoint)["threads"]  # type: ignore[index]
    post = next(r for b in later for r in b.removals if r.mention_id == "facebook:1001_0")
    assert post.created_at == ago(20)


def test_usage_above_the_threshold_slows_down(graph: FakeGraph) -> None:
    graph.usage = {"x-app-usage": {"call_count": 90, "total_cputime": 10, "total_time": 20}}
    clock = Recorder()
    assert sorted(ids(poll(source(graph, usage_slowdown_percent=75), clock=clock))) == sorted(EXPECTED)
    assert clock.sleeps, "slowed down"
    assert all(s == pytest.approx(30.0 * 15 / 25) for s in clock.sleeps)
    assert len(clock.sleeps) == len(graph.requests) - 1, "before every request after the first"
    assert clock.limited == clock.sleeps


def test_an_exhausted_quota_is_waited_out(graph: FakeGraph) -> None:
    graph.usage = {
        "x-business-use-case-usage": {
            "1001": [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 30,
                    "total_time": 40,
                    "estimated_time_to_regain_access": 7,
                }
            ]
        }
    }
    clock = Recorder()
    poll(source(graph), clock=clock)
    assert set(clock.sleeps) == {7 * 60.0}
    graph.usage = {"x-page-usage": {"call_count": 100, "total_cputime": 5, "total_time": 5}}
    clock = Recorder()
    poll(source(graph), clock=clock)
    assert set(clock.sleeps) == {300.0}


def test_usage_headers_parse() -> None:
    buc = {
        "x-business-use-case-usage": json.dumps(
            {"1": [{"call_count": 12, "total_time": 80, "estimated_time_to_regain_access": 0}]}
        )
    }
    assert usage_of(buc).percent == 80 and usage_of(buc).regain_s == 0
    both = {
        "x-app-usage": '{"call_count": 50}',
        "x-page-usage": "not json",
        "x-ad-account-usage": '{"acc_id_util_pct": 99}',
    }
    assert usage_of(both).percent == 50
    assert usage_delay(usage_of({}), 75) == 0


def test_a_throttled_request_waits_and_is_retried(graph: FakeGraph) -> None:
    graph.fail(Fault(status=400, code=613, path="/posts", times=2))
    clock = Recorder()
    batches = poll(source(graph), clock=clock)
    assert sorted(ids(batches)) == sorted(EXPECTED)
    assert clock.errors == ["graph_613", "graph_613"]
    assert clock.sleeps == [60.0, 120.0] and clock.limited == [60.0, 120.0]


@pytest.mark.parametrize("code", [4, 17, 32, 80001, 80014])
def test_every_throttling_code_is_retried(graph: FakeGraph, code: int) -> None:
    graph.fail(Fault(status=403, code=code, path="visitor_posts"))
    clock = Recorder()
    assert sorted(ids(poll(source(graph), clock=clock))) == sorted(EXPECTED)
    assert clock.errors == [f"graph_{code}"] and clock.sleeps == [60.0]


def test_a_throttle_with_an_estimate_waits_that_long(graph: FakeGraph) -> None:
    usage = json.dumps({"1001": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 2}]})
    graph.fail(Fault(status=400, code=80001, path="/posts", headers={"X-Business-Use-Case-Usage": usage}))
    clock = Recorder()
    poll(source(graph), clock=clock)
    assert clock.sleeps == [120.0]


def test_throttling_that_does_not_end_is_left_for_the_next_poll(graph: FakeGraph) -> None:
    graph.fail(Fault(status=400, code=613, path="/posts", times=100))
    clock = Recorder()
    with pytest.raises(Unreachable, match="throttled"):
        poll(source(graph), clock=clock)
    assert clock.errors == ["graph_613"] * 4
    assert clock.sleeps == [60.0, 120.0, 240.0]


def test_server_errors_are_retried_a_few_times_then_unreachable(graph: FakeGraph) -> None:
    graph.fail(Fault(status=500, code=None, body="<html>oops</html>", path="/posts", times=2))
    clock = Recorder()
    assert sorted(ids(poll(source(graph), clock=clock))) == sorted(EXPECTED)
    assert clock.errors == ["http_500", "http_500"] and clock.sleeps == [1.0, 2.0] and clock.limited == []
    graph.fail(Fault(status=503, code=2, message="Service temporarily unavailable", path="/posts", times=100))
    clock = Recorder()
    with pytest.raises(Unreachable):
        poll(source(graph), clock=clock)
    assert clock.errors == ["graph_2"] * 4


def test_an_error_that_is_not_from_graph_is_retried(graph: FakeGraph) -> None:
    graph.fail(Fault(status=403, code=None, body="<html>Forbidden by proxy</html>", path="/posts", times=100))
    clock = Recorder()
    with pytest.raises(Unreachable, match="HTTP 403"):
        poll(source(graph), clock=clock)
    assert clock.errors == ["http_403"] * 4
    graph.faults.clear()
    graph.fail(Fault(status=200, code=None, body="[]", path="/posts"))
    clock = Recorder()
    assert sorted(ids(poll(source(graph), clock=clock))) == sorted(EXPECTED)
    assert clock.errors == ["bad_answer"]


def test_an_unreachable_graph_is_left_for_the_next_poll() -> None:
    with FakeGraph() as graph:
        url = graph.url
    src = PageSource("zakupowo", PAGE, TOKEN, FacebookCollector(api_url=url), policy=RetryPolicy(attempts=2))
    clock = Recorder()
    with pytest.raises(Unreachable) as caught:
        list(src.poll(None, clock.context()))
    assert clock.errors == ["unreachable", "unreachable"] and TOKEN not in str(caught.value)


@pytest.mark.parametrize("subcode", [None, 460, 463])
def test_a_rejected_token_stops_the_source_without_retrying(graph: FakeGraph, subcode: int | None) -> None:
    graph.fail(
        Fault(
            status=400,
            code=190,
            subcode=subcode,
            message="Error validating access token {token}: Session has expired",
            path="/posts",
        )
    )
    clock = Recorder()
    with pytest.raises(SourceStopped) as caught:
        poll(source(graph), clock=clock)
    message = str(caught.value)
    assert message.startswith("facebook-zakupowo: page token rejected (code 190")
    assert "renew it" in message and "\n" not in message
    assert TOKEN not in message
    assert len(graph.requests) == 1 and clock.sleeps == []
    assert clock.errors == ["graph_190"]


def test_a_wrong_token_stops_the_source(graph: FakeGraph) -> None:
    src = PageSource("zakupowo", PAGE, "EAAwrong", FacebookCollector(api_url=graph.url))
    with pytest.raises(SourceStopped, match=r"page token rejected \(code 190\)"):
        list(src.poll(None, SourceContext()))


@pytest.mark.parametrize("code", [10, 200, 299])
def test_a_missing_page_permission_stops_the_source(graph: FakeGraph, code: int) -> None:
    graph.fail(
        Fault(
            status=403,
            code=code,
            message=f"(#{code}) Requires pages_messaging permission",
            path="conversations",
        )
    )
    with pytest.raises(SourceStopped, match=f"lacks a permission \\(code {code}\\)"):
        poll(source(graph))


def test_a_missing_instagram_permission_stops_only_instagram(
    graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    graph.denied[IG] = 10
    src = source(graph)
    clock = Recorder()
    with caplog.at_level(logging.WARNING):
        batches = poll(src, clock=clock)
    assert sorted(ids(batches)) == sorted(EXPECTED - {"ig_1", "ig_c1", "ig_c2", "ig_c3"})
    assert src.instagram_problem is not None and "code 10" in src.instagram_problem
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        len(warnings) == 1 and "instagram part skipped" in warnings[0] and "facebook-zakupowo" in warnings[0]
    )
    assert clock.errors == ["graph_10"]
    del graph.denied[IG]
    assert sorted(ids(poll(src, last_checkpoint(batches)))) == ["ig_1", "ig_c1", "ig_c2", "ig_c3"]
    assert src.instagram_problem is None


def test_an_unknown_page_stops_the_source() -> None:
    with FakeGraph(page_id="42") as graph:
        src = PageSource("zakupowo", PAGE, graph.token, FacebookCollector(api_url=graph.url))
        with pytest.raises(SourceStopped, match="not found"):
            list(src.poll(None, SourceContext()))


def test_time_based_paging_follows_next_without_its_token(graph: FakeGraph) -> None:
    graph.next_only = True
    batches = poll(source(graph))
    assert sorted(ids(batches)) == sorted(EXPECTED)
    follow_ups = [r for r in graph.requests if "__paging_token" in r.params]
    assert follow_ups, "pages after the first were read from paging.next"
    assert all("access_token" not in r.target for r in graph.requests)


def test_the_token_stays_in_the_header(graph: FakeGraph, caplog: pytest.LogCaptureFixture) -> None:
    graph.next_only = True
    graph.fail(
        Fault(status=400, code=613, message="limit for {token}", path="/posts"),
        Fault(status=500, code=1, message="unknown error {token}", path="visitor_posts"),
    )
    graph.denied[IG] = 200
    src = source(graph)
    with caplog.at_level(logging.DEBUG):
        batches = poll(src)
        graph.fail(Fault(status=400, code=190, message="bad token {token}"))
        with pytest.raises(SourceStopped) as caught:
            poll(src, last_checkpoint(batches))
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in graph.requests)
    assert all(TOKEN not in r.target for r in graph.requests)
    assert TOKEN not in caplog.text
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert TOKEN not in (src.instagram_problem or "")
    assert all(TOKEN not in json.dumps(b.checkpoint) for b in batches)


def test_a_checkpoint_it_did_not_write_stops_the_source(graph: FakeGraph) -> None:
    """Starting over would publish the whole lookback window again."""
    with pytest.raises(SourceStopped, match="checkpoint not understood"):
        poll(source(graph), {"version": 99})
    assert graph.requests == []


def test_a_page_without_messenger_is_read_without_its_inbox(graph: FakeGraph) -> None:
    src = source(graph)
    src.messenger = False
    batches = poll(src, None)
    assert not any("conversations" in r.path for r in graph.requests)
    found = mentions(batches)
    assert found and all(m.platform.value != "messenger" for m in found)


def test_graph_times() -> None:
    assert graph_time("2026-12-01T10:00:00+0000") == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert graph_time("2026-12-01T11:00:00+0100") == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert graph_time("2026-12-01T10:00:00Z") == datetime(2026, 12, 1, 10, tzinfo=UTC)


def test_an_item_that_cannot_be_a_mention_is_counted_and_skipped(graph: FakeGraph) -> None:
    page = {
        "data": [
            {"id": "1001_1_a", "message": "bez daty", "created_time": "yesterday"},
            {"message": "bez id", "created_time": "2026-12-01T11:00:00+0000"},
            {"id": "1001_1_b", "message": "z przyszłości", "created_time": "2099-01-01T00:00:00+0000"},
            {"id": "1001_1_c", "message": "w porządku", "created_time": "2026-12-01T11:00:00+0000"},
        ]
    }
    graph.fail(Fault(status=200, code=None, body=json.dumps(page), path="1001_1/comments"))
    clock = Recorder()
    got = ids(poll(source(graph), clock=clock))
    assert "1001_1_c" in got and not {"1001_1_a", "1001_1_b"} & set(got)
    assert clock.errors == ["bad_item"] * 3
    assert sorted(got) == sorted(EXPECTED | {"1001_1_c"})


def test_page_sources_build_one_source_per_brand_with_a_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "token").write_text("EAAfromfile\n")
    config = tmp_path / "flarewatch.yaml"
    config.write_text(
        "collectors:\n  facebook:\n    api_url: http://127.0.0.1:9/v23.0\n    page_size: 50\n"
        "brands:\n"
        "  - name: zakupowo\n    terms: [zakupowo]\n"
        "    facebook: {page_id: '1001', token_env: ZAKUPOWO_PAGE_TOKEN}\n"
        "    instagram: {account_id: '1784'}\n"
        "  - name: csomagpont\n    terms: [csomagpont]\n"
        f"    facebook: {{page_id: '2002', token_file: {tmp_path / 'token'}}}\n"
        "  - name: quiet\n    terms: [quiet]\n"
    )
    monkeypatch.setenv("ZAKUPOWO_PAGE_TOKEN", "EAAfromenv")
    sources = page_sources(load_settings(config))
    assert [(s.name, s.page_id, s.instagram_id, s.page_size) for s in sources] == [
        ("facebook-zakupowo", "1001", "1784", 50),
        ("facebook-csomagpont", "2002", None, 50),
    ]
    assert all("EAAfrom" not in repr(s) for s in sources)
    monkeypatch.delenv("ZAKUPOWO_PAGE_TOKEN")
    with pytest.raises(
        SecretError, match="page token of zakupowo: environment variable ZAKUPOWO_PAGE_TOKEN is not set"
    ):
        page_sources(load_settings(config))

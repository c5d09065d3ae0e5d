"""X recent search (streams/collectors/x.py) against a local fake of the API (tests/fakes/x_api.py):
pages and since_id, exactly once from every checkpoint (a crash after any batch, twice over),
rate limits, refused tokens, retries, the mapping, and the token kept out of every message."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streams.collectors.http import Unreachable
from streams.collectors.source import Batch, Checkpoint, SourceStopped
from streams.collectors.x import RetryPolicy, XSearchSource, search_query, search_sources, snowflake_time
from streams.config.brands import BrandSettings
from streams.config.settings import Settings, SettingsError
from streams.contracts.records import Channel, Platform, Source
from tests.fakes.stats import RecordingStats
from tests.fakes.x_api import TOKEN, FakeX, Reply, snowflake

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
"""The tests' clock: a little before the real one (the contract refuses future posts)."""


def Recorder() -> RecordingStats:
    return RecordingStats(clock=NOW)


@pytest.fixture
def x() -> Iterator[FakeX]:
    with FakeX() as fake:
        fake.user("100", "anna_k", followers=1234)
        fake.user("200", "zakupowo", followers=50_000)
        yield fake


def source(fake: FakeX, token: str = TOKEN, **policy: float) -> XSearchSource:
    return XSearchSource(
        "zakupowo",
        "zakupowo -is:retweet",
        token,
        api_url=fake.url,
        max_results=10,
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
    )


def posts(fake: FakeX, n: int, start: datetime, author: str = "100") -> list[str]:
    return [fake.post(start + timedelta(seconds=i), f"zakupowo post {i}", author) for i in range(n)]


def poll(src: XSearchSource, checkpoint: Checkpoint | None, rec: RecordingStats | None = None) -> list[Batch]:
    return list(src.poll(checkpoint, (rec or Recorder()).context()))


def ids(batches: list[Batch]) -> list[str]:
    return [m.native_id for b in batches for m in b.mentions]


# -- pages, mapping, since_id ------------------------------------------------------------------------


def test_pages_are_read_newest_first_and_mapped(x: FakeX) -> None:
    root = x.post(NOW - timedelta(hours=2), "Zakupowo, gdzie moja paczka? &amp; nic", "100", lang="pl")
    reply = x.post(
        NOW - timedelta(hours=1),
        "@anna_k sprawdzamy",
        "200",
        conversation_id=root,
        replied_to=root,
        lang="pl",
    )
    long_post = x.post(NOW - timedelta(minutes=30), "cut…", "300", lang="und", note="the whole long text")
    written = posts(x, 22, NOW - timedelta(minutes=20))
    rec = Recorder()

    batches = poll(source(x), None, rec)

    assert [len(b.mentions) for b in batches] == [10, 10, 5]
    assert sorted(ids(batches), key=int) == sorted([root, reply, long_post, *written], key=int)
    assert ids(batches)[:10] == written[-10:], "newest page first, oldest first within a page"
    searches = x.searches()
    assert "since_id" not in searches[0] and "next_token" not in searches[0]
    assert [s.get("next_token") is not None for s in searches] == [False, True, True]
    assert searches[0]["tweet.fields"].split(",")[:6] == [
        "created_at", "author_id", "conversation_id", "in_reply_to_user_id", "lang", "referenced_tweets",
    ]  # fmt: skip
    assert searches[0]["expansions"] == "author_id"
    assert searches[0]["user.fields"] == "username,name,public_metrics"
    assert searches[0]["query"] == "zakupowo -is:retweet" and searches[0]["max_results"] == "10"
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in x.requests)
    assert rec.fetched_counts == [10, 10, 5] and rec.errors == [] and rec.sleeps == []

    by_id = {m.native_id: m for b in batches for m in b.mentions}
    first, answer, long = by_id[root], by_id[reply], by_id[long_post]
    assert (first.platform, first.source, first.channel) == (Platform.X, Source.SEARCH, Channel.PUBLIC)
    assert first.brand == "zakupowo" and first.text == "Zakupowo, gdzie moja paczka? & nic"
    assert (first.author.id, first.author.name, first.author.followers) == ("100", "anna_k", 1234)
    assert first.thread_id is None and first.parent_id is None and first.lang == "pl"
    assert first.url == f"https://x.com/anna_k/status/{root}"
    assert first.created_at == (NOW - timedelta(hours=2))
    assert (answer.thread_id, answer.parent_id) == (root, root)
    assert (answer.author.name, answer.author.followers) == ("zakupowo", 50_000)
    assert answer.thread_key == first.thread_key, "a reply lands in its conversation's thread"
    assert long.text == "the whole long text" and long.lang is None
    assert (long.author.id, long.author.name, long.author.followers) == ("300", None, None)
    assert long.url == f"https://x.com/i/web/status/{long_post}"


def test_since_id_moves_only_when_a_poll_is_complete(x: FakeX) -> None:
    first = posts(x, 15, NOW - timedelta(hours=1))
    batches = poll(source(x), None)
    assert batches[0].checkpoint == {"since_id": None, "newest_id": first[-1], "oldest_id": first[5]}
    assert batches[-1].checkpoint == {"since_id": first[-1], "newest_id": None, "oldest_id": None}

    later = posts(x, 3, NOW - timedelta(minutes=5))
    again = poll(source(x), batches[-1].checkpoint)
    assert ids(again) == later and len(again) == 1
    assert x.searches()[-1]["since_id"] == first[-1]
    assert again[-1].checkpoint == {"since_id": later[-1], "newest_id": None, "oldest_id": None}

    assert poll(source(x), again[-1].checkpoint) == [], "nothing new: no batch, checkpoint unchanged"
    assert x.searches()[-1]["since_id"] == later[-1]


def test_nothing_found_on_the_first_poll(x: FakeX) -> None:
    assert poll(source(x), None) == []
    later = posts(x, 2, NOW - timedelta(minutes=5))
    assert ids(poll(source(x), None)) == later


def _run(src: XSearchSource, checkpoint: Checkpoint | None) -> list[Batch]:
    return poll(src, checkpoint)


def test_resuming_from_every_checkpoint_publishes_each_post_exactly_once(x: FakeX) -> None:
    """A crash right after any batch was published (the runner stored its checkpoint), then again
    after any batch of the resumed poll; new posts arrive meanwhile. Every post is published once."""
    older = posts(x, 34, NOW - timedelta(hours=3))
    complete = _run(source(x), None)
    assert len(complete) == 4 and sorted(ids(complete)) == sorted(older)
    newer = posts(x, 12, NOW - timedelta(minutes=30))
    everything = set(older) | set(newer)

    outcomes = 0
    for k in range(len(complete)):
        published = ids(complete[: k + 1])
        resumed = _run(source(x), complete[k].checkpoint)
        for j in range(len(resumed) + 1):
            again = resumed[:j]
            checkpoint = again[-1].checkpoint if again else complete[k].checkpoint
            rest = _run(source(x), checkpoint)
            total = Counter(published + ids(again) + ids(rest))
            assert set(total) == everything, (k, j)
            assert max(total.values()) == 1, (k, j, [i for i, n in total.items() if n > 1])
            final = (rest or again)[-1].checkpoint
            assert final == {"since_id": newer[-1], "newest_id": None, "oldest_id": None}
            outcomes += 1
    assert outcomes > 10


def test_the_rest_of_an_interrupted_poll_is_asked_for_with_until_id(x: FakeX) -> None:
    written = posts(x, 25, NOW - timedelta(hours=1))
    first = poll(source(x), None)[0]
    assert first.checkpoint is not None
    x.requests.clear()
    rest = poll(source(x), first.checkpoint)
    assert ids([first, *rest]) == [*written[-10:], *written[5:15], *written[:5]]
    resumed = x.searches()[0]
    assert resumed["until_id"] == written[15] and "since_id" not in resumed
    assert x.searches()[-1]["since_id"] == written[-1], "then a fresh pass from the new since_id"


def test_a_since_id_older_than_the_search_window_becomes_a_start_time(x: FakeX) -> None:
    stale = snowflake(NOW - timedelta(days=8))
    assert abs(snowflake_time(stale) - (NOW - timedelta(days=8))) < timedelta(milliseconds=2)
    written = posts(x, 3, NOW - timedelta(hours=1))
    batches = poll(source(x), {"since_id": stale, "newest_id": None, "oldest_id": None})
    assert ids(batches) == written
    sent = x.searches()[0]
    assert "since_id" not in sent and sent["start_time"].startswith(
        (NOW - timedelta(days=7) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    )


def test_an_interrupted_poll_that_left_the_window_is_given_up(
    x: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    newest, oldest = snowflake(NOW - timedelta(days=6)), snowflake(NOW - timedelta(days=7, hours=1))
    written = posts(x, 2, NOW - timedelta(hours=1))
    with caplog.at_level(logging.WARNING):
        batches = poll(source(x), {"since_id": None, "newest_id": newest, "oldest_id": oldest})
    assert batches[0].checkpoint == {"since_id": newest, "newest_id": None, "oldest_id": None}
    assert ids(batches) == written and "7-day search window" in caplog.text


# -- rate limits -----------------------------------------------------------------------------------


def test_429_waits_until_the_reset_header(x: FakeX) -> None:
    written = posts(x, 3, NOW - timedelta(hours=1))
    reset = int(NOW.timestamp()) + 42
    x.script.append(Reply(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(reset)}))
    rec = Recorder()
    assert ids(poll(source(x), None, rec)) == written
    assert rec.sleeps == [42.0] and rec.waits == [42.0] and rec.errors == ["http_429"]
    assert len(x.requests) == 2


def test_429_without_a_reset_waits_a_minute_and_gives_up_after_a_few(x: FakeX) -> None:
    x.script.extend(Reply(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": "x"}) for _ in range(3))
    rec = Recorder()
    with pytest.raises(Unreachable, match="x-zakupowo: still rate limited after 2 waits"):
        poll(source(x, rate_limit_waits=2), None, rec)
    assert rec.sleeps == [60.0, 60.0] and rec.waits == [60.0, 60.0] and len(x.requests) == 3


def test_no_requests_left_in_the_window_waits_before_the_next_page(x: FakeX) -> None:
    posts(x, 15, NOW - timedelta(hours=1))
    x.remaining, x.reset = 0, int(NOW.timestamp()) + 90
    rec = Recorder()
    assert len(ids(poll(source(x), None, rec))) == 15
    assert rec.sleeps == [90.0] and rec.waits == [90.0], "one wait, before the second page"


def test_the_monthly_cap_stops_the_source(x: FakeX) -> None:
    cap = {
        "title": "UsageCapExceeded",
        "detail": "Usage cap exceeded: Monthly product cap",
        "period": "Monthly",
    }
    x.script.append(Reply(429, cap, {"x-rate-limit-reset": str(int(NOW.timestamp()) + 10)}))
    with pytest.raises(SourceStopped, match="monthly post cap"):
        poll(source(x), None)


# -- refusals and failures ---------------------------------------------------------------------------


def test_a_rejected_token_stops_the_source_without_showing_it(x: FakeX) -> None:
    with pytest.raises(SourceStopped) as stopped:
        poll(source(x, token="wrong-secret-token"), None)
    assert str(stopped.value) == "x-zakupowo: bearer token rejected (401)"

    forbidden = {
        "title": "Client Forbidden",
        "reason": "client-not-enrolled",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
    }
    x.script.append(Reply(403, forbidden))
    with pytest.raises(SourceStopped) as refused:
        poll(source(x), None)
    assert (
        str(refused.value) == "x-zakupowo: bearer token rejected (403: Client Forbidden client-not-enrolled)"
    )


def test_a_query_x_refuses_stops_the_source_with_x_reasons(x: FakeX) -> None:
    bad = XSearchSource("zakupowo", "", TOKEN, api_url=x.url)
    with pytest.raises(
        SourceStopped, match=r"x-zakupowo: X refused the search \(400: Invalid Request .*can not be empty\)"
    ):
        poll(bad, None)


def test_server_errors_are_retried_with_backoff(x: FakeX) -> None:
    written = posts(x, 2, NOW - timedelta(hours=1))
    x.script.extend([Reply(503, "busy"), Reply(500, {"title": "oops"})])
    rec = Recorder()
    assert ids(poll(source(x), None, rec)) == written
    assert rec.sleeps == [2.0, 4.0] and rec.errors == ["http_503", "http_500"] and rec.waits == []

    x.script.extend([Reply(502), Reply(500), Reply(200, "<html>not json</html>")])
    rec = Recorder()
    with pytest.raises(Unreachable, match="x-zakupowo: X's answer is not JSON"):
        poll(source(x, attempts=3), None, rec)
    assert rec.errors == ["http_502", "http_500", "bad_json"] and rec.sleeps == [2.0, 4.0]


def test_no_answer_is_unreachable_after_the_retries() -> None:
    with FakeX() as gone:
        url = gone.url
    src = XSearchSource("zakupowo", "zakupowo", TOKEN, api_url=url, policy=RetryPolicy(attempts=3))
    rec = Recorder()
    with pytest.raises(Unreachable, match=r"x-zakupowo: .*/2/tweets/search/recent"):
        poll(src, None, rec)
    assert rec.errors == ["unreachable"] * 3 and rec.sleeps == [2.0, 4.0]


def test_the_token_never_reaches_a_message_or_a_log_line(x: FakeX, caplog: pytest.LogCaptureFixture) -> None:
    echo = {"title": f"Invalid token {TOKEN}", "errors": [{"message": f"Bearer {TOKEN} is bad"}]}
    messages: list[str] = []
    caplog.set_level(logging.DEBUG)
    for reply in [Reply(403, echo), Reply(400, echo), Reply(429, echo), Reply(500, echo)]:
        x.script[:] = [reply] * 5
        try:
            poll(source(x, attempts=2, rate_limit_waits=1), None)
        except (SourceStopped, Unreachable) as exc:
            messages.append(str(exc))
    x.script.clear()
    x.post(NOW - timedelta(hours=1), "ok", "100")
    x.posts[next(iter(x.posts))]["created_at"] = "not a time"  # a post the contract refuses
    rec = Recorder()
    assert ids(poll(source(x), None, rec)) == [] and rec.errors == ["bad_item"]
    assert len(messages) == 4 and all("[token]" in m for m in messages[:2]), messages
    src = source(x)
    everything = "\n".join([*messages, caplog.text, repr(src), str(vars(src).get("name"))])
    assert TOKEN not in everything and "Bearer" not in caplog.text


# -- sources from the settings -----------------------------------------------------------------------


def settings(*brands: dict[str, object], **x: object) -> Settings:
    return Settings(
        brands=tuple(BrandSettings.model_validate(b) for b in brands),
        collectors={"x": {"api_url": "http://127.0.0.1:9/2", **x}},  # type: ignore[arg-type]
    )


def test_search_sources_one_per_brand_on_x(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    found = search_sources(
        settings(
            {"name": "zakupowo", "rule": 'zakupowo NOT giveaway* OR "płatność blik"', "x": {}},
            {"name": "fotomat", "terms": ["fotomat"], "x": {"query": "fotomat lang:pl"}},
            {"name": "quiet", "terms": ["quiet"]},
            max_results=50,
        )
    )
    assert [(s.name, s.family, s.brand) for s in found] == [
        ("x-zakupowo", "search", "zakupowo"),
        ("x-fotomat", "search", "fotomat"),
    ]
    assert found[0].query == '(zakupowo -giveaway) OR "płatność blik" -is:retweet'
    assert found[1].query == "fotomat lang:pl", "a hand-written query is used as it is"
    assert TOKEN not in repr(found)


def test_search_sources_reads_no_token_without_brands_on_x(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    assert search_sources(settings({"name": "quiet", "terms": ["quiet"]})) == []
    with pytest.raises(ValueError, match="X bearer token: environment variable X_BEARER_TOKEN is not set"):
        search_sources(settings({"name": "zakupowo", "terms": ["zakupowo"], "x": {}}))
    secret = tmp_path / "x-token"
    secret.write_text(TOKEN + "\n")
    found = search_sources(
        settings({"name": "zakupowo", "terms": ["zakupowo"], "x": {}}, bearer_token_file=str(secret))
    )
    assert found[0].query == "zakupowo -is:retweet"


def test_a_rule_x_cannot_search_names_the_brand_and_x_query() -> None:
    brand = BrandSettings(name="zakupowo", rule="zakup* NOT giveaway", x={})  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match=r"zakupowo: .*set x\.query for the brand"):
        search_query(brand)
    too_long = " OR ".join(f'"zakupowo sklep{i}"' for i in range(40))
    with pytest.raises(SettingsError, match=r"is 866 characters, over X's 512: set a shorter x\.query"):
        search_query(BrandSettings(name="zakupowo", rule=too_long, x={}))  # type: ignore[arg-type]
    just_fits = '"' + " ".join(["ab"] * 168) + '"'  # 505 characters, 517 with -is:retweet
    with pytest.raises(SettingsError, match=r"is 517 characters with -is:retweet, over X's 512"):
        search_query(BrandSettings(name="zakupowo", rule=just_fits, x={}))  # type: ignore[arg-type]

"""The crisis-room app's handlers, on an in-memory :class:`PageData`: parameter validation, the token
rules of the actions, the security headers and the static files; and the pure query helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from models.threads.metrics import ReportRow
from streams.contracts.incidents import Incident, IncidentCommand, IncidentState
from streams.search.queries import MentionFilter
from streams.web.app import SECURITY_HEADERS, CommandUnavailable, Page, build_app
from streams.web.queries import (
    INTERVALS,
    MAX_BUCKETS,
    AwaitingThread,
    Bucket,
    IncidentMark,
    Resolved,
    SearchHit,
    SearchRequest,
    Timeline,
    awaiting_thread,
    buckets,
    interval_for,
    open_first,
    thread_query,
)

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
TOKEN = "s3cret-token"


def incident(state: IncidentState = IncidentState.TRIGGERED, n: int = 1) -> Incident:
    start = NOW - timedelta(hours=n)
    return Incident(
        incident_id=f"zakupowo:payment:{start:%Y%m%dT%H%MZ}",
        version=1,
        brand="zakupowo",
        category="payment",
        measure="complaints",
        state=state,
        severity="warning",
        started_at=start,
        updated_at=start,
        bucket_seconds=900,
        observed=12,
        expected=2.5,
        peak=12,
        peak_expected=2.5,
        peak_at=start,
    )


def waiting(key: str, text: str) -> AwaitingThread:
    return AwaitingThread(
        key,
        "zakupowo",
        "x",
        "new",
        text,
        NOW,
        60.0,
        NOW + timedelta(hours=1),
        3600.0,
        "public",
        "running",
        1,
        (),
    )


@dataclass
class MemoryData:
    """The page's data held in lists; records every call so tests see what reached it."""

    found: list[Incident] = field(default_factory=list)
    threads: dict[str, AwaitingThread] = field(default_factory=dict)
    mentions: list[SearchHit] = field(default_factory=list)
    searches: list[SearchRequest] = field(default_factory=list)
    ranges: list[tuple[datetime | None, datetime | None, str | None]] = field(default_factory=list)
    rows: list[ReportRow] | None = None

    def incidents(self) -> list[Incident]:
        return open_first(self.found)

    def incident(self, incident_id: str) -> Incident | None:
        return next((i for i in self.found if i.incident_id == incident_id), None)

    def awaiting(self, now: datetime) -> list[AwaitingThread]:
        return list(self.threads.values())

    def search(self, request: SearchRequest) -> list[SearchHit]:
        self.searches.append(request)
        words = request.filter.text.lower().split()
        return [h for h in self.mentions if all(w in h.text.lower() for w in words)][: request.size]

    def timeline(self, since: datetime | None, until: datetime | None, brand: str | None) -> Timeline:
        self.ranges.append((since, until, brand))
        marks = tuple(
            IncidentMark(i.incident_id, i.started_at, i.severity, i.state.value) for i in self.found
        )
        return Timeline(since, until, 3600, (Bucket(NOW, (("negative", 3), ("neutral", 1))),), marks)

    def sla(
        self, since: datetime | None, until: datetime | None, brand: str | None
    ) -> list[ReportRow] | None:
        self.ranges.append((since, until, brand))
        return self.rows

    def resolve_thread(self, key: str, now: datetime) -> Resolved:
        if key not in self.threads:
            return Resolved.NOT_FOUND
        del self.threads[key]
        return Resolved.RESOLVED


@dataclass
class Broker:
    sent: list[IncidentCommand] = field(default_factory=list)
    down: bool = False

    def __call__(self, command: IncidentCommand) -> None:
        if self.down:
            raise CommandUnavailable("cannot reach the broker at 127.0.0.1:1")
        self.sent.append(command)


def call(
    data: MemoryData,
    test: Callable[[TestClient[Any, Any]], Awaitable[None]],
    token: str | None = None,
    **page: Any,
) -> None:
    async def run() -> None:
        app = build_app(Page(data, token=token, now=lambda: NOW, **page))
        async with TestClient(TestServer(app)) as client:
            await test(client)

    asyncio.run(run())


def test_incidents_are_listed_open_first_with_state_and_severity() -> None:
    resolved, live = incident(IncidentState.RESOLVED, 1), incident(IncidentState.TRIGGERED, 5)
    data = MemoryData(found=[resolved, live])

    async def test(client: TestClient[Any, Any]) -> None:
        response = await client.get("/api/incidents")
        assert response.status == 200
        body = await response.json()
        assert [i["incident_id"] for i in body["incidents"]] == [live.incident_id, resolved.incident_id]
        assert body["incidents"][0]["state"] == "triggered" and body["incidents"][0]["severity"] == "warning"

    call(data, test)


def test_search_passes_validated_filters_and_returns_hits_as_given() -> None:
    hit = SearchHit(
        "mentions", "x:1", NOW, "zakupowo", "x", "negative", "payment", "<script>x</script> blik", None
    )
    data = MemoryData(mentions=[hit])

    async def test(client: TestClient[Any, Any]) -> None:
        query = {"q": "blik", "brand": "zakupowo", "category": "payment", "sentiment": "negative"}
        response = await client.get("/api/search", params={**query, "since": "2026-11-19", "size": "5"})
        assert response.status == 200
        body = await response.json()
        assert body["hits"][0]["text"] == "<script>x</script> blik"
        assert response.headers["Content-Type"].startswith("application/json")

    call(data, test)
    flt = data.searches[0].filter
    assert (flt.text, flt.brand, flt.category, flt.sentiment) == ("blik", "zakupowo", "payment", "negative")
    assert flt.since == datetime(2026, 11, 19, tzinfo=UTC) and data.searches[0].size == 5


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        ("/api/search", {"since": "yesterday"}, "since"),
        ("/api/search", {"until": "2026-13-45"}, "until"),
        ("/api/search", {"since": "2026-11-20", "until": "2026-11-19"}, "before"),
        ("/api/search", {"kind": "users"}, "kind"),
        ("/api/search", {"sentiment": "angry"}, "sentiment"),
        ("/api/search", {"category": "weather"}, "category"),
        ("/api/search", {"size": "1000"}, "size"),
        ("/api/search", {"size": "-1"}, "size"),
        ("/api/search", {"q": "x" * 501}, "q"),
        ("/api/search", {"hack": "1"}, "hack"),
        ("/api/timeline", {"since": "nope"}, "since"),
        ("/api/timeline", {"q": "blik"}, "q"),
        ("/api/sla", {"until": "2026-11-19T25:00"}, "until"),
        ("/api/incidents", {"brand": "x"}, "brand"),
        ("/api/threads/awaiting", {"size": "5"}, "size"),
    ],
)
def test_bad_parameters_answer_400_with_a_one_line_json_error(
    path: str, params: dict[str, str], says: str
) -> None:
    data = MemoryData()

    async def test(client: TestClient[Any, Any]) -> None:
        response = await client.get(path, params=params)
        assert response.status == 400
        error = (await response.json())["error"]
        assert says in error and "\n" not in error
        assert response.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]

    call(data, test)
    assert data.searches == [] and data.ranges == []


@settings(max_examples=40, deadline=None)
@given(since=st.text(min_size=1, max_size=30).filter(lambda s: not s[:4].isdigit()))
def test_generated_non_dates_are_refused(since: str) -> None:
    data = MemoryData()

    async def test(client: TestClient[Any, Any]) -> None:
        response = await client.get("/api/timeline", params={"since": since})
        assert response.status == 400

    call(data, test)
    assert data.ranges == []


def test_timeline_and_sla_get_the_range_and_brand() -> None:
    data = MemoryData(found=[incident()])

    async def test(client: TestClient[Any, Any]) -> None:
        params = {"since": "2026-11-19T10:00", "until": "2026-11-19T12:00+01:00", "brand": "kosarka"}
        timeline = await (await client.get("/api/timeline", params=params)).json()
        assert timeline["buckets"][0]["counts"] == [["negative", 3], ["neutral", 1]]
        assert timeline["incidents"][0]["incident_id"] == data.found[0].incident_id
        sla = await (await client.get("/api/sla", params=params)).json()
        assert sla == {"available": False, "rows": []}

    call(data, test)
    expected = (datetime(2026, 11, 19, 10, tzinfo=UTC), datetime(2026, 11, 19, 11, tzinfo=UTC), "kosarka")
    assert data.ranges == [expected, expected]


def test_actions_are_forbidden_without_a_configured_token() -> None:
    data = MemoryData(found=[incident()], threads={"t1": waiting("t1", "hello")})
    broker = Broker()

    async def test(client: TestClient[Any, Any]) -> None:
        assert (await (await client.get("/api/config")).json())["actions"] is False
        headers = {"Authorization": "Bearer anything"}
        ack = await client.post(f"/api/incidents/{data.found[0].incident_id}/ack", headers=headers)
        resolve = await client.post("/api/threads/t1/resolve", headers=headers)
        assert (ack.status, resolve.status) == (403, 403)
        assert "read-only" in (await ack.json())["error"]
        assert ack.headers["X-Content-Type-Options"] == "nosniff"

    call(data, test, acknowledge=broker)
    assert broker.sent == [] and "t1" in data.threads


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN])
def test_actions_are_forbidden_with_a_missing_or_wrong_token(header: str | None) -> None:
    data = MemoryData(found=[incident()], threads={"t1": waiting("t1", "hello")})
    broker = Broker()

    async def test(client: TestClient[Any, Any]) -> None:
        headers = {} if header is None else {"Authorization": header}
        assert (await (await client.get("/api/config")).json())["actions"] is True
        ack = await client.post(f"/api/incidents/{data.found[0].incident_id}/ack", headers=headers)
        resolve = await client.post("/api/threads/t1/resolve", headers=headers)
        assert (ack.status, resolve.status) == (403, 403)

    call(data, test, token=TOKEN, acknowledge=broker)
    assert broker.sent == [] and "t1" in data.threads


def test_with_the_token_an_ack_is_published_and_a_thread_resolved() -> None:
    live = incident()
    data = MemoryData(found=[live, incident(IncidentState.RESOLVED, 9)], threads={"t1": waiting("t1", "x")})
    broker = Broker()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def test(client: TestClient[Any, Any]) -> None:
        ack = await client.post(f"/api/incidents/{live.incident_id}/ack", headers=auth)
        assert ack.status == 202
        resolved = await client.post(f"/api/incidents/{data.found[1].incident_id}/ack", headers=auth)
        assert resolved.status == 409
        assert (await client.post("/api/incidents/nope/ack", headers=auth)).status == 404
        assert (await client.post("/api/threads/t1/resolve", headers=auth)).status == 200
        assert (await client.post("/api/threads/t1/resolve", headers=auth)).status == 404

    call(data, test, token=TOKEN, acknowledge=broker, user="duty-manager")
    assert [(c.command, c.incident_id, c.by, c.at) for c in broker.sent] == [
        ("acknowledge", live.incident_id, "duty-manager", NOW)
    ]
    assert data.threads == {}


def test_an_ack_answers_503_when_the_broker_is_unreachable() -> None:
    data = MemoryData(found=[incident()])

    async def test(client: TestClient[Any, Any]) -> None:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        response = await client.post(f"/api/incidents/{data.found[0].incident_id}/ack", headers=auth)
        assert response.status == 503
        assert "cannot reach the broker" in (await response.json())["error"]

    call(data, test, token=TOKEN, acknowledge=Broker(down=True))


def test_page_and_static_files_are_served_with_security_headers() -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        page = await client.get("/")
        html = await page.text()
        assert page.status == 200 and '<script src="/static/app.js"' in html
        assert "http" not in html.replace('"http://www.w3.org', "")  # nothing from a CDN
        for name, kind in (("app.js", "javascript"), ("app.css", "text/css")):
            response = await client.get(f"/static/{name}")
            assert response.status == 200 and kind in response.headers["Content-Type"]
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert (await client.get("/static/../app.py")).status in (403, 404)

    call(MemoryData(), test)


def test_the_script_builds_no_markup_from_data() -> None:
    from streams.web.app import STATIC

    script = (STATIC / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_an_awaiting_thread_without_an_sla_clock_shows_the_time_waiting() -> None:
    source: dict[str, Any] = {
        "message": "gdzie moja paczka?",
        "flarewatch": {
            "brand": "zakupowo",
            "platform": "x",
            "thread": {"key": "k1", "status": "new", "awaiting_since": "2026-11-19T14:00:00Z", "mentions": 2},
        },
    }
    old = awaiting_thread(source, NOW)
    assert (old.waiting_seconds, old.seconds_left, old.due_at) == (3600.0, None, None)
    source["flarewatch"]["thread"]["sla"] = {"target": "public", "due_at": "2026-11-19T14:30:00+00:00"}
    late = awaiting_thread(source, NOW)
    assert late.seconds_left == -1800.0 and late.text == "gdzie moja paczka?"


@given(st.floats(min_value=0, max_value=400 * 86400))
def test_the_interval_keeps_the_chart_within_its_bucket_limit(span: float) -> None:
    interval = interval_for(span)
    assert interval in INTERVALS
    assert span / interval <= MAX_BUCKETS or interval == INTERVALS[-1]
    smaller = [i for i in INTERVALS if i < interval]
    assert not smaller or span / smaller[-1] > MAX_BUCKETS


def test_thread_search_filters_on_worst_sentiment_and_category() -> None:
    query = thread_query(
        MentionFilter(text="blik", brand="zakupowo", sentiment="negative", category="payment")
    )
    filters = query["bool"]["filter"]
    assert {"term": {"flarewatch.thread.sentiment.worst": "negative"}} in filters
    assert {"range": {"flarewatch.thread.categories.payment": {"gt": 0}}} in filters
    assert {"term": {"flarewatch.brand": "zakupowo"}} in filters


def test_histogram_buckets_count_every_sentiment() -> None:
    body = {
        "aggregations": {
            "volume": {
                "buckets": [
                    {"key": 1763560800000, "sentiment": {"buckets": [{"key": "negative", "doc_count": 4}]}},
                ]
            }
        }
    }
    (bucket,) = buckets(body)
    assert bucket.at == datetime(2025, 11, 19, 14, tzinfo=UTC)
    assert dict(bucket.counts) == {"negative": 4, "neutral": 0, "positive": 0, "unscored": 0}

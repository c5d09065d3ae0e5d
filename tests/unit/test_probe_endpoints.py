"""The probe pages of the collectors and the crisis room (/health/live, /health/ready, /metrics):
status codes and bodies as the process's state changes, 404 for any other path, and the page's
request and search-error metrics. ``served_routes`` and ``page_registry`` tell the Kubernetes
manifest tests what each process serves."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from elasticsearch import ConnectionError as SearchConnectionError
from prometheus_client import CollectorRegistry

from streams.cli import collect as collect_cli
from streams.collectors.metrics import CollectorMetrics
from streams.collectors.publish import PublishError
from streams.collectors.source import Batch, Checkpoint, Removal, SourceContext
from streams.config.settings import load_settings
from streams.contracts.incidents import Incident
from streams.contracts.records import RawMention
from streams.devstack.embedded import free_port
from streams.health import NOT_YET, AppServer, Health, probe_app
from streams.web.app import Page, PageMetrics, build_app
from tests.factories import mention
from tests.unit.test_collect_runner import Pages
from tests.unit.test_web_api import MemoryData

Get = Callable[[str], tuple[int, Any]]


# -- what each process serves (for tests/unit/test_kubernetes.py) -------------------------------


def served_routes(component: str) -> set[str]:
    """The paths ``component`` (``web``, ``collect-search|feeds|pages|webhooks``) serves on its
    probe port, read from the apps the commands build."""
    if component == "web":
        app = build_app(Page(MemoryData()))
    elif component == "collect-webhooks":
        app = webhook_server(ListPublisher(), Health(("broker",)))
    elif component in ("collect-search", "collect-feeds", "collect-pages"):
        app = probe_app(Health(()), CollectorMetrics().registry)
    else:
        raise ValueError(f"{component} serves no probe pages")
    return {route.resource.canonical for route in app.router.routes() if route.resource is not None}


def page_registry() -> CollectorRegistry:
    """The crisis room's metrics, with a sample of each labelled family."""
    metrics = PageMetrics()
    metrics.request("/api/incidents", 200)
    return metrics.registry


# -- helpers -----------------------------------------------------------------------------------


class ListPublisher:
    durable = False

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[RawMention] = []
        self.fail = fail

    def send(self, mentions: Sequence[RawMention]) -> None:
        if self.fail:
            raise PublishError("the broker did not acknowledge a send: KafkaTimeoutError")
        self.sent.extend(mentions)

    def send_removals(self, removals: Sequence[Removal]) -> None:
        self.send([])

    def end_offsets(self) -> dict[int, int]:
        return {}

    def published_ids(self, since: Any) -> set[str]:
        return set()

    def close(self) -> None:
        pass


def webhook_server(publisher: ListPublisher, health: Health) -> web.Application:
    async def sink(mentions: Sequence[RawMention], removals: Sequence[Removal]) -> None:
        watched.send(mentions)

    watched = collect_cli.WatchedPublisher(publisher, health)
    return collect_cli.webhook_server(
        "app-secret",
        "verify-token",
        {"1": "zakupowo"},
        sink,
        "/webhooks/facebook",
        CollectorMetrics(),
        health,
    )


def served(app: web.Application, test: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    async def run() -> None:
        async with TestClient(TestServer(app)) as client:
            await test(client)

    asyncio.run(run())


async def answer(client: TestClient[Any, Any], path: str) -> tuple[int, Any]:
    response = await client.get(path)
    text = await response.text()
    return response.status, json.loads(text) if response.content_type == "application/json" else text


def get(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            body = response.read().decode()
            is_json = response.headers.get_content_type() == "application/json"
            return response.status, json.loads(body) if is_json else body
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# -- the health state --------------------------------------------------------------------------


def test_live_from_the_start_and_ready_once_every_check_passes() -> None:
    health = Health(("collecting", "broker"))
    assert health.liveness() == (200, {"status": "ok"})
    assert health.readiness() == (
        503,
        {
            "status": "not ready",
            "checks": {"collecting": False, "broker": False},
            "reason": "collecting: not checked yet; broker: not checked yet",
        },
    )
    health.passed("collecting")
    health.passed("broker")
    assert health.readiness() == (200, {"status": "ready", "checks": {"collecting": True, "broker": True}})
    health.failed("broker", "the last call to the broker failed: PublishError")
    code, body = health.readiness()
    assert code == 503 and body["reason"] == "broker: the last call to the broker failed: PublishError"


def test_a_stopped_process_fails_both_probes_with_the_reason() -> None:
    health = Health(("broker",))
    health.passed("broker")
    health.died("the collect loop ended (exit code 1)")
    assert health.liveness() == (503, {"status": "failed", "reason": "the collect loop ended (exit code 1)"})
    code, body = health.readiness()
    assert code == 503 and body["reason"] == "the collect loop ended (exit code 1)"
    with pytest.raises(KeyError):
        health.passed("search")


def test_the_broker_check_follows_the_last_send() -> None:
    health = Health(("broker",))
    inner = ListPublisher()
    publisher = collect_cli.WatchedPublisher(inner, health)
    assert health.readiness()[0] == 200
    inner.fail = True
    with pytest.raises(PublishError):
        publisher.send([mention(1)])
    assert health.readiness()[1]["reason"] == "broker: the last call to the broker failed: PublishError"
    inner.fail = False
    publisher.send([mention(2)])
    assert health.readiness()[0] == 200 and [m.native_id for m in inner.sent] == ["c2"]


# -- the polling collectors' probe port --------------------------------------------------------


def test_the_probe_port_serves_health_and_metrics_and_nothing_else() -> None:
    health, metrics = Health(("collecting",)), CollectorMetrics()
    metrics.published.labels("x-zakupowo").inc(3)
    server = AppServer(probe_app(health, metrics.registry), "127.0.0.1", 0, name="probes").start()
    try:
        assert get(server.port, "/health/live") == (200, {"status": "ok"})
        assert get(server.port, "/health/ready")[0] == 503
        health.passed("collecting")
        assert get(server.port, "/health/ready") == (200, {"status": "ready", "checks": {"collecting": True}})
        code, text = get(server.port, "/metrics")
        assert code == 200 and 'flarewatch_collector_published_total{source="x-zakupowo"} 3.0' in text
        for path in ("/", "/health", "/metrics/x", "/health/live/", "/anything"):
            assert get(server.port, path)[0] == 404, path
    finally:
        server.stop()


class Probing:
    """A source that, while it is being polled, asks the collector's own probe port."""

    name = "probing"
    family = "search"
    brand = "zakupowo"

    def __init__(self, port: int) -> None:
        self.port = port
        self.answers: dict[str, tuple[int, Any]] = {}

    def poll(self, checkpoint: Checkpoint | None, context: SourceContext) -> Iterator[Batch]:
        for path in ("/health/live", "/health/ready"):
            self.answers[path] = get(self.port, path)
        yield Batch((mention(1, text="zakupowo"),), {"n": 1})


def test_collect_is_live_and_ready_while_its_loop_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    port = free_port()
    source = Probing(port)
    settings = load_settings(brands=[{"name": "zakupowo", "terms": ["zakupowo"]}])
    code = collect_cli._run(settings, [source], True, tmp_path / "out.jsonl", tmp_path / "state", port)
    assert code == 0
    assert source.answers["/health/live"] == (200, {"status": "ok"})
    assert source.answers["/health/ready"] == (
        200,
        {"status": "ready", "checks": {"collecting": True, "broker": True}},
    )
    assert "zakupowo" in (tmp_path / "out.jsonl").read_text()


def test_collect_fails_liveness_when_its_loop_ends_or_crashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(brands=[{"name": "zakupowo", "terms": ["zakupowo"]}])
    health = Health(("collecting", "broker"))
    out = tmp_path / "out.jsonl"
    source = Pages([[mention(1, text="zakupowo")]])
    collect_cli._collect(settings, [source], True, out, tmp_path / "s", CollectorMetrics(), health)
    assert health.liveness() == (503, {"status": "failed", "reason": "the collect loop ended (exit code 0)"})

    def crash(*args: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr("streams.collectors.runner.Collector.run", crash)
    health = Health(("collecting", "broker"))
    with pytest.raises(RuntimeError):
        collect_cli._collect(settings, [source], True, out, tmp_path / "s", CollectorMetrics(), health)
    assert health.liveness() == (
        503,
        {"status": "failed", "reason": "the collect loop crashed: RuntimeError"},
    )


# -- the webhook endpoint ----------------------------------------------------------------------


def test_the_webhook_endpoint_serves_probes_beside_the_endpoint() -> None:
    publisher, health = ListPublisher(), Health(("broker",))
    app = webhook_server(publisher, health)
    watched = collect_cli.WatchedPublisher(publisher, health)

    async def test(client: TestClient[Any, Any]) -> None:
        assert await answer(client, "/health/live") == (200, {"status": "ok"})
        assert await answer(client, "/health/ready") == (200, {"status": "ready", "checks": {"broker": True}})
        code, text = await answer(client, "/metrics")
        assert code == 200 and "flarewatch_webhook" in text
        publisher.fail = True
        with pytest.raises(PublishError):
            watched.send([mention(1)])
        code, body = await answer(client, "/health/ready")
        assert code == 503 and body["reason"] == "broker: the last call to the broker failed: PublishError"
        assert await answer(client, "/health/live") == (200, {"status": "ok"})
        for path in ("/", "/health", "/webhooks", "/nope"):
            assert (await client.get(path)).status == 404, path

    served(app, test)


def test_webhook_routes_are_the_endpoint_and_the_probe_pages() -> None:
    assert served_routes("collect-webhooks") == {
        "/webhooks/facebook",
        "/metrics",
        "/health/live",
        "/health/ready",
    }
    assert served_routes("collect-search") == {"/metrics", "/health/live", "/health/ready"}


# -- the crisis room ---------------------------------------------------------------------------


class FailingSearch(MemoryData):
    def incidents(self) -> list[Incident]:
        raise SearchConnectionError("connection refused")


def page_app(data: MemoryData, ping: Callable[[], bool] | None) -> web.Application:
    return build_app(Page(data, ping=ping, ping_interval_s=0.05))


async def checked(client: TestClient[Any, Any]) -> tuple[int, Any]:
    """/health/ready once the background ping has answered, or its last answer after a few
    seconds."""
    for _ in range(200):
        status, body = await answer(client, "/health/ready")
        if NOT_YET not in body.get("reason", ""):
            break
        await asyncio.sleep(0.02)
    return status, body


def test_the_page_is_ready_when_the_search_server_answers_its_ping() -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        assert await answer(client, "/health/live") == (200, {"status": "ok"})
        assert await checked(client) == (200, {"status": "ready", "checks": {"search": True}})
        code, text = await answer(client, "/metrics")
        assert code == 200 and "flarewatch_web_search_up 1.0" in text

    served(page_app(MemoryData(), lambda: True), test)


@pytest.mark.parametrize(
    ("ping", "why"), [(lambda: False, "no answer"), (lambda: 1 / 0 == 0, "ZeroDivisionError")]
)
def test_the_page_is_not_ready_while_the_ping_fails(ping: Callable[[], bool], why: str) -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        status, body = await checked(client)
        assert (status, body) == (
            503,
            {
                "status": "not ready",
                "checks": {"search": False},
                "reason": f"search: the search server did not answer its ping ({why})",
            },
        )
        assert await answer(client, "/health/live") == (200, {"status": "ok"})
        text = (await answer(client, "/metrics"))[1]
        assert "flarewatch_web_search_up 0.0" in text and "flarewatch_web_search_errors_total" in text

    served(page_app(MemoryData(), ping), test)


def test_a_hanging_ping_never_holds_up_the_probe() -> None:
    release = threading.Event()

    def hang() -> bool:
        release.wait(30)
        return True

    async def test(client: TestClient[Any, Any]) -> None:
        try:
            status, body = await answer(client, "/health/ready")
            assert status == 503 and body["reason"] == "search: not checked yet"
        finally:
            release.set()

    served(page_app(MemoryData(), hang), test)


def test_the_page_counts_requests_by_route_and_status_and_search_errors() -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        assert (await client.get("/api/incidents")).status == 503
        assert (await client.get("/api/config")).status == 200
        assert (await client.post("/api/incidents/x/ack")).status == 403
        assert (await client.get("/no/such/page")).status == 404
        assert (await client.get("/health")).status == 404
        text = (await answer(client, "/metrics"))[1]
        for line in (
            'flarewatch_web_requests_total{route="/api/incidents",status="503"} 1.0',
            'flarewatch_web_requests_total{route="/api/config",status="200"} 1.0',
            'flarewatch_web_requests_total{route="/api/incidents/{id}/ack",status="403"} 1.0',
            'flarewatch_web_requests_total{route="unmatched",status="404"} 2.0',
            "flarewatch_web_search_errors_total 1.0",
        ):
            assert line in text, line

    served(page_app(FailingSearch(), None), test)


def test_the_page_without_a_ping_is_ready_when_it_serves() -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        assert await answer(client, "/health/ready") == (200, {"status": "ready", "checks": {}})

    served(page_app(MemoryData(), None), test)


def test_the_page_serves_the_probe_pages() -> None:
    routes = served_routes("web")
    assert {"/health/live", "/health/ready", "/metrics", "/api/incidents"} <= routes
    names = {family.name for family in page_registry().collect()}
    assert {"flarewatch_web_requests", "flarewatch_web_search_errors", "flarewatch_web_search_up"} <= names

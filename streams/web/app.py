"""The crisis-room web app: the page's static files, its read-only JSON API and, with a token, two
actions (acknowledge an incident, resolve a thread). ``/health/live``, ``/health/ready`` and
``/metrics`` for probes and Prometheus (:mod:`streams.health`): the page is ready when the
search server answered its last ping, made in the background every ``ping_interval_s``.

Every answer carries a strict Content-Security-Policy (scripts and styles from this server only)
and ``X-Content-Type-Options: nosniff``; the page builds its DOM from text, never from markup."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, cast

from aiohttp import web
from elasticsearch import ApiError, TransportError
from prometheus_client import CollectorRegistry, Counter, Gauge

from models.labels import CATEGORIES
from streams.contracts.incidents import Incident, IncidentCommand, IncidentState
from streams.contracts.records import utc_now
from streams.health import AppServer, Health, add_probe_routes
from streams.search.queries import MentionFilter
from streams.web.queries import MAX_ROWS, SENTIMENTS, Kind, PageData, Resolved, SearchRequest

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Acknowledge = Callable[[IncidentCommand], None]
"""Publishes an incident command for the worker; blocks; raises :class:`CommandUnavailable`."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CommandUnavailable(RuntimeError):
    """The command could not be sent (the broker does not answer); the message says why."""


@dataclass(frozen=True, slots=True)
class Page:
    data: PageData
    token: str | None = None
    """None: read-only, every action answers 403."""
    refresh_s: float = 15.0
    acknowledge: Acknowledge | None = None
    now: Callable[[], datetime] = utc_now
    user: str = "crisis-room"
    """Who an acknowledgement from the page is recorded as."""
    ping: Callable[[], bool] | None = None
    """Whether the search server answers; blocks (give it a short timeout). None: readiness
    does not check the search server."""
    ping_interval_s: float = 5.0


class PageMetrics:
    """The page's Prometheus metrics. Route labels are the routes' patterns, never a raw path."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "flarewatch_web_requests",
            "Requests answered, by route pattern and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.search_errors = Counter(
            "flarewatch_web_search_errors",
            "Page requests that failed because the search server did not answer (503), and failed pings.",
            registry=self.registry,
        )
        self.search_up = Gauge(
            "flarewatch_web_search_up",
            "1 when the search server answered the last background ping.",
            registry=self.registry,
        )

    def request(self, route: str, status: int) -> None:
        self.requests.labels(route, str(status)).inc()


PAGE = web.AppKey("page", Page)
METRICS = web.AppKey("metrics", PageMetrics)
HEALTH = web.AppKey("health", Health)


def build_app(page: Page, metrics: PageMetrics | None = None) -> web.Application:
    app = web.Application(middlewares=[_count, _headers, _errors], client_max_size=4096)
    app[PAGE] = page
    app[METRICS] = metrics or PageMetrics()
    app[HEALTH] = Health(() if page.ping is None else ("search",))
    add_probe_routes(app, app[HEALTH], app[METRICS].registry)
    if page.ping is not None:
        app.cleanup_ctx.append(_watch_search)
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    app.router.add_get("/api/config", _config)
    app.router.add_get("/api/incidents", _incidents)
    app.router.add_get("/api/threads/awaiting", _awaiting)
    app.router.add_get("/api/search", _search)
    app.router.add_get("/api/timeline", _timeline)
    app.router.add_get("/api/sla", _sla)
    app.router.add_post("/api/incidents/{id}/ack", _ack)
    app.router.add_post("/api/threads/{key}/resolve", _resolve)
    return app


async def _watch_search(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_ping_forever(app[PAGE], app[HEALTH], app[METRICS]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _ping_forever(page: Page, health: Health, metrics: PageMetrics) -> None:
    assert page.ping is not None
    while True:
        try:
            answered = await asyncio.to_thread(page.ping)
        except Exception as exc:  # a ping that raises is a failed ping, not a dead page
            answered, why = False, type(exc).__name__
        else:
            why = "no answer"
        if answered:
            health.passed("search")
        else:
            health.failed("search", f"the search server did not answer its ping ({why})")
            metrics.search_errors.inc()
        metrics.search_up.set(1 if answered else 0)
        await asyncio.sleep(page.ping_interval_s)


@web.middleware
async def _count(request: web.Request, handler: Handler) -> web.StreamResponse:
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        request.app[METRICS].request("unmatched" if resource is None else resource.canonical, status)


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadParameter as exc:
        return _error(400, str(exc))
    except (ApiError, TransportError) as exc:
        request.app[METRICS].search_errors.inc()
        return _error(503, f"the search server did not answer: {type(exc).__name__}")


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _config(request: web.Request) -> web.Response:
    page = request.app[PAGE]
    return _json({"actions": page.token is not None, "refresh_s": page.refresh_s})


async def _incidents(request: web.Request) -> web.Response:
    _no_params(request)
    found = await asyncio.to_thread(request.app[PAGE].data.incidents)
    return _json({"incidents": [incident_json(i) for i in found]})


async def _awaiting(request: web.Request) -> web.Response:
    _no_params(request)
    page = request.app[PAGE]
    return _json({"threads": await asyncio.to_thread(page.data.awaiting, page.now())})


async def _search(request: web.Request) -> web.Response:
    wanted = search_request(request.query)
    return _json(
        {"kind": wanted.kind, "hits": await asyncio.to_thread(request.app[PAGE].data.search, wanted)}
    )


async def _timeline(request: web.Request) -> web.Response:
    since, until, brand = time_range(request.query)
    return _json(await asyncio.to_thread(request.app[PAGE].data.timeline, since, until, brand))


async def _sla(request: web.Request) -> web.Response:
    since, until, brand = time_range(request.query)
    rows = await asyncio.to_thread(request.app[PAGE].data.sla, since, until, brand)
    return _json({"available": rows is not None, "rows": rows or []})


async def _ack(request: web.Request) -> web.Response:
    page = _authorized(request)
    incident_id = path_id(request.match_info["id"])
    incident = await asyncio.to_thread(page.data.incident, incident_id)
    if incident is None:
        return _error(404, f"no incident {incident_id}")
    if incident.state is IncidentState.RESOLVED:
        return _error(409, f"incident {incident_id} is resolved: nothing to acknowledge")
    if incident.state is IncidentState.ACKNOWLEDGED:
        return _json({"status": "already acknowledged", "by": incident.acknowledged_by})
    if page.acknowledge is None:
        return _error(503, "acknowledging needs the broker, and none is configured for this page")
    command = IncidentCommand(
        command="acknowledge", incident_id=incident_id, brand=incident.brand, by=page.user, at=page.now()
    )
    try:
        await asyncio.to_thread(page.acknowledge, command)
    except CommandUnavailable as exc:
        return _error(503, str(exc))
    return _json({"status": "sent", "incident_id": incident_id}, status=202)


async def _resolve(request: web.Request) -> web.Response:
    page = _authorized(request)
    key = path_id(request.match_info["key"])
    outcome = await asyncio.to_thread(page.data.resolve_thread, key, page.now())
    if outcome is Resolved.NOT_FOUND:
        return _error(404, f"no thread {key}")
    if outcome is Resolved.CONFLICT:
        return _error(409, f"thread {key} kept changing; try again")
    return _json({"status": "resolved", "key": key})


def _authorized(request: web.Request) -> Page:
    page = request.app[PAGE]
    if page.token is None:
        raise _forbidden("read-only: no web.token is configured for actions")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {page.token}".encode()):
        raise _forbidden("a valid 'Authorization: Bearer <token>' header is required")
    return page


def _no_params(request: web.Request) -> None:
    if request.query:
        raise BadParameter(f"unexpected parameter {next(iter(request.query))!r}")


def incident_json(i: Incident) -> dict[str, Any]:
    return i.model_dump(
        mode="json",
        include={
            "incident_id",
            "brand",
            "category",
            "measure",
            "state",
            "severity",
            "started_at",
            "updated_at",
            "acknowledged_by",
            "observed",
            "expected",
            "peak",
            "total",
            "top_terms",
        },
    )


def _forbidden(message: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=json.dumps({"error": message}), content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status=status)


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(value, default=_encode, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"cannot encode {type(value).__name__}")


class BadParameter(ValueError):
    """A query parameter is missing its form; the message is the one line the client gets."""


MAX_TEXT = 500
SEARCH_PARAMS = frozenset({"q", "brand", "category", "sentiment", "since", "until", "kind", "size"})
RANGE_PARAMS = frozenset({"since", "until", "brand"})


def search_request(query: Mapping[str, str]) -> SearchRequest:
    _only(query, SEARCH_PARAMS)
    since, until, brand = time_range({k: v for k, v in query.items() if k in RANGE_PARAMS})
    kind = _choice(query, "kind", ("mentions", "threads")) or "mentions"
    flt = MentionFilter(
        text=_text(query, "q", MAX_TEXT) or "",
        brand=brand,
        sentiment=_choice(query, "sentiment", SENTIMENTS),
        category=_choice(query, "category", tuple(c.value for c in CATEGORIES)),
        since=since,
        until=until,
    )
    return SearchRequest(flt, cast(Kind, kind), _size(query.get("size")))


def time_range(query: Mapping[str, str]) -> tuple[datetime | None, datetime | None, str | None]:
    """``since``, ``until`` (ISO dates or times, UTC unless given) and ``brand``."""
    _only(query, RANGE_PARAMS)
    since, until = _when(query, "since"), _when(query, "until")
    if since is not None and until is not None and since >= until:
        raise BadParameter("since must be before until")
    return since, until, _text(query, "brand", 200)


def path_id(value: str) -> str:
    if not value or len(value) > 300 or not value.isprintable():
        raise BadParameter("not a valid id")
    return value


def _only(query: Mapping[str, str], allowed: frozenset[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise BadParameter(f"unexpected parameter {unknown[0]!r}")


def _text(query: Mapping[str, str], name: str, limit: int) -> str | None:
    value = query.get(name, "").strip()
    if len(value) > limit or not value.isprintable():
        raise BadParameter(f"{name}: at most {limit} printable characters")
    return value or None


def _choice(query: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = query.get(name) or None
    if value is not None and value not in allowed:
        raise BadParameter(f"{name}: one of {', '.join(allowed)}")
    return value


def _size(value: str | None) -> int:
    if not value:
        return 50
    if not value.isdigit() or not 1 <= int(value) <= MAX_ROWS:
        raise BadParameter(f"size: a whole number from 1 to {MAX_ROWS}")
    return int(value)


def _when(query: Mapping[str, str], name: str) -> datetime | None:
    value = query.get(name) or None
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(f"{name}: {value[:40]!r} is not a date or time like 2026-11-19T14:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


PageServer = AppServer
"""The page served from a thread (for ``demo``/``up`` and ``flarewatch web``)."""

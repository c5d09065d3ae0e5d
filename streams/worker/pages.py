"""The worker's web pages: /metrics for Prometheus and the health endpoints for probes.

- ``/health/live`` (Kubernetes liveness) and ``/health``: 200 ``{"status": "ok"}``, or 503 with
  the reason when an agent died or stalled, or the worker is stopping on a fatal error.
- ``/health/ready`` (readiness): 200 when, besides, the broker and the search server answer and
  the model is loaded; 503 with the checks otherwise.

The pages answer from what the watchdog last sampled: they never wait on the broker or the
search server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.worker.health import Health
from streams.worker.metrics import Counters

Fatal = Callable[[], BaseException | None]


def register(app: Any, health: Health, counters: Counters, fatal: Fatal) -> None:
    """Adds the pages to the Faust ``app``; ``fatal`` tells why the worker is stopping, if it is."""

    # Faust binds a page function to its view, passing the view as the first argument:
    # plain closures, not bound methods.
    async def metrics(view: Any, request: Any) -> Any:
        body, content_type = counters.exposition()
        return view.bytes(body, headers={"Content-Type": content_type})

    async def live(view: Any, request: Any) -> Any:
        body = liveness(health, fatal())
        return view.json(body, status=200 if body["status"] == "ok" else 503)

    async def ready(view: Any, request: Any) -> Any:
        body = readiness(health, fatal())
        return view.json(body, status=200 if body["status"] == "ready" else 503)

    app.page("/metrics")(metrics)
    app.page("/health")(live)
    app.page("/health/live")(live)
    app.page("/health/ready")(ready)


def liveness(health: Health, fatal: BaseException | None) -> dict[str, Any]:
    if fatal is not None:
        return {"status": "failed", "reason": str(fatal)}
    if health.verdict.healthy:
        return {"status": "ok"}
    return {
        "status": "failed",
        "reason": health.verdict.reason,
        "reasons": list(health.verdict.reasons),
        "exits_in_s": round(health.exits_in() or 0.0, 1),
    }


def readiness(health: Health, fatal: BaseException | None) -> dict[str, Any]:
    live = liveness(health, fatal)
    ready = live["status"] == "ok" and health.ready
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": dict(health.checks)}
    if live["status"] != "ok":
        body["reason"] = live["reason"]
    return body

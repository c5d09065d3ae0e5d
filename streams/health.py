"""Health pages for the processes other than the worker (the collectors and the crisis room; the
worker has its own, :mod:`streams.worker.pages`), and a thread to serve an aiohttp app from.

- ``/health/live``: 200 ``{"status": "ok"}`` while the process does its job; 503
  ``{"status": "failed", "reason": ...}`` once it has stopped or crashed.
- ``/health/ready``: 200 ``{"status": "ready", "checks": {...}}`` when it is live and every check
  passes; 503 ``{"status": "not ready", "checks": {...}, "reason": ...}`` otherwise.
- ``/metrics``: the process's Prometheus registry.

Each page answers from what the process last recorded: a probe never waits on the broker or the
search server. Reasons name a check and an error type, never a value from the configuration.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

NOT_YET = "not checked yet"


class Health:
    """Liveness and named readiness checks; thread-safe, set by the code that knows."""

    def __init__(self, checks: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self._dead: str | None = None
        self._checks: dict[str, str | None] = {name: NOT_YET for name in checks}
        """Check -> None when it passes, else why it does not."""

    def died(self, reason: str) -> None:
        """The process stopped doing its job (its loop ended or crashed): live fails from now."""
        with self._lock:
            self._dead = reason

    def passed(self, check: str) -> None:
        self._set(check, None)

    def failed(self, check: str, reason: str) -> None:
        self._set(check, reason)

    def _set(self, check: str, reason: str | None) -> None:
        with self._lock:
            if check not in self._checks:
                raise KeyError(f"no health check {check!r}")
            self._checks[check] = reason

    def liveness(self) -> tuple[int, dict[str, Any]]:
        """The status code and body of /health/live."""
        with self._lock:
            dead = self._dead
        if dead is not None:
            return 503, {"status": "failed", "reason": dead}
        return 200, {"status": "ok"}

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """The status code and body of /health/ready."""
        with self._lock:
            dead, checks = self._dead, dict(self._checks)
        body: dict[str, Any] = {"checks": {name: reason is None for name, reason in checks.items()}}
        failing = [f"{name}: {reason}" for name, reason in checks.items() if reason is not None]
        if dead is not None:
            failing.insert(0, dead)
        if not failing:
            return 200, {"status": "ready", **body}
        return 503, {"status": "not ready", **body, "reason": "; ".join(failing)}


def add_probe_routes(app: web.Application, health: Health, registry: CollectorRegistry) -> None:
    """Adds ``/health/live``, ``/health/ready`` and ``/metrics`` to ``app``."""

    async def live(request: web.Request) -> web.Response:
        status, body = health.liveness()
        return web.json_response(body, status=status)

    async def ready(request: web.Request) -> web.Response:
        status, body = health.readiness()
        return web.json_response(body, status=status)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/health/live", live)
    app.router.add_get("/health/ready", ready)
    app.router.add_get("/metrics", metrics)


def probe_app(health: Health, registry: CollectorRegistry) -> web.Application:
    """Only the probe pages; any other path is 404."""
    app = web.Application(client_max_size=4096)
    add_probe_routes(app, health, registry)
    return app


class AppServer:
    """Serves an aiohttp app from a thread of its own, with an event loop of its own."""

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        on_stop: Callable[[], None] = lambda: None,
        name: str = "crisis-room",
    ) -> None:
        self.app, self.host, self.port, self.on_stop, self.name = app, host, port, on_stop, name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self, timeout_s: float = 10.0) -> AppServer:
        """Blocks until the app listens; raises ``OSError`` when the port is taken."""
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise OSError(f"the {self.name} server did not start within {timeout_s:g}s")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self.on_stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app, access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, self.host, self.port).start())
            self.port = int(runner.addresses[0][1])
            self._loop = loop
        except BaseException as exc:
            self._error = exc
        self._ready.set()
        if self._error is None:
            loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

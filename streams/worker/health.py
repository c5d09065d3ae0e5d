"""The worker's health: progress hooks for the agents, and a watchdog that samples lag and
readiness, applies the stall rule (:mod:`streams.worker.stall`) and stops a stalled worker.

Lag is read from the Faust consumer: the high watermark of the last fetch response (right on
every broker, unlike ListOffsets(latest), which Tansu answers wrongly) minus the offset the
consumer committed, or its fetch position before its first commit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from streams.config.settings import Settings
from streams.worker import stall
from streams.worker.metrics import Counters
from streams.worker.stall import AgentState, Partition, Verdict

log = logging.getLogger("flarewatch.worker")

AgentFun = Callable[[Any], Awaitable[None]]
Stop = Callable[[BaseException], Awaitable[None]]
Ping = Callable[[], Awaitable[bool]]
PROBE_TIMEOUT_S = 2.0
READY_RECHECKS_S = (0.5, 1.5)
"""After the partitions are assigned and after the model is loaded, check again this long after
each other: readiness shows at once instead of at the next ``health_interval_s``."""


class Stalled(RuntimeError):
    """The worker failed its health check for the whole grace period."""


class Health:
    """State behind /health, /health/live and /health/ready. The hooks (``progress``,
    ``model_loaded``, ``watch``) are cheap and may be called from any thread; the watchdog
    started by :meth:`attach` runs in the event loop every ``worker.health_interval_s``."""

    def __init__(self, settings: Settings, counters: Counters, models: Iterable[str] = ()) -> None:
        self.settings = settings
        self.counters = counters
        self.started = time.time()
        self.last: dict[str, float] = {}
        self.loading = set(models)
        """Agents still loading their model: not ready, and not judged."""
        self.crashes: dict[str, str] = {}
        self.lag_since: dict[str, float | None] = {}
        self.verdict = Verdict(True)
        self.failing_from: float | None = None
        self.checks = {"broker": False, "search": False, "model": not self.loading}
        self.joined = False
        """The consumer has joined its group (partitions were assigned) at least once."""
        self.stopping = False
        self._check_soon: Callable[[], None] = lambda: None
        """Set by :meth:`attach`: check again shortly, without waiting for the next interval."""
        counters.state(healthy=True, ready=False)

    # -- hooks for the agents -----------------------------------------------------------------

    def progress(self, agent: str, messages: int) -> None:
        """``agent`` finished a batch of ``messages``."""
        now = time.time()
        self.last[agent] = now
        self.counters.progress(agent, now, messages)

    def model_loaded(self, agent: str) -> None:
        """``agent`` has its model: readiness may pass, and its stall clock starts now."""
        self.loading.discard(agent)
        self.checks["model"] = not self.loading
        self.progress(agent, 0)
        self._check_soon()

    def watch(self, agent: str, fun: AgentFun) -> AgentFun:
        """``fun`` as a Faust agent whose death (an exception escaping it) fails the worker."""
        self.counters.progress(agent, self.started, 0)

        @functools.wraps(fun)
        async def watched(stream: Any) -> None:
            try:
                await fun(stream)
            except Exception as exc:
                self.crashes[agent] = f"{type(exc).__name__}: {exc}"
                self.counters.crashed(agent)
                log.critical("agent %s died: %s", agent, self.crashes[agent], exc_info=exc)
                raise

        return watched

    # -- what the pages answer ----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.verdict.healthy and all(self.checks.values())

    def exits_in(self) -> float | None:
        """Seconds until a failing worker stops, or None while it is healthy."""
        if self.failing_from is None:
            return None
        return max(0.0, self.failing_from + self.settings.worker.stall_grace_s - time.time())

    # -- the watchdog ---------------------------------------------------------------------------

    def attach(self, app: Any, ping_search: Ping, stop: Stop) -> None:
        """Start the watchdog with ``app``; ``stop`` crashes the app (a non-zero exit)."""

        async def watchdog() -> None:
            await self.check(app, ping_search, stop)

        async def shortly() -> None:
            # the rebalance that assigned the partitions finishes first (table recovery);
            # should it take longer, the next interval's check finds the worker ready
            for delay in READY_RECHECKS_S:
                await asyncio.sleep(delay)
                if not self.stopping:
                    await self.check(app, ping_search, stop)

        def check_soon() -> None:
            app.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(shortly()))

        async def assigned(sender: Any, *args: Any, **kwargs: Any) -> None:
            self.joined = True
            check_soon()

        self._check_soon = check_soon
        app.timer(self.settings.worker.health_interval_s, name="flarewatch.health")(watchdog)
        app.on_partitions_assigned.connect(assigned)

    async def check(self, app: Any, ping_search: Ping, stop: Stop) -> None:
        """One sample: lag, the stall rule, readiness; stops the worker once it has failed for
        the grace period."""
        joined = self.joined and not getattr(app, "rebalancing", False)
        self.checks["broker"] = joined and await _reachable(self.settings.kafka.servers)
        self.checks["search"] = await _answers(ping_search)
        servers_up = self.checks["broker"] and self.checks["search"]
        now = time.time()
        inputs = _inputs(app)
        lags = await _partition_lags(app, frozenset().union(*inputs.values()))
        by_agent = stall.agent_lags(inputs, lags)
        states = [self._state(agent, lag, now, servers_up) for agent, lag in by_agent.items()]
        verdict = stall.judge(states, now, self.settings.worker.stall_timeout_s)
        self._judged(verdict, now)
        self.counters.lags(lags, by_agent)
        self.counters.state(healthy=verdict.healthy, ready=self.ready)
        if stall.should_exit(self.failing_from, now, self.settings.worker.stall_grace_s):
            await self._stop(stop, verdict)

    def _state(self, agent: str, lag: int | None, now: float, servers_up: bool) -> AgentState:
        since = stall.lag_since(self.lag_since.get(agent), lag, now, servers_up)
        self.lag_since[agent] = since
        last = self.last.get(agent, self.started)
        return AgentState(agent, last, lag, since, agent in self.loading, self.crashes.get(agent))

    def _judged(self, verdict: Verdict, now: float) -> None:
        if verdict.healthy != self.verdict.healthy:
            if verdict.healthy:
                log.warning("health recovered")
            else:
                log.error(
                    "health failed: %s; exiting in %.0fs unless it recovers",
                    verdict.reason,
                    self.settings.worker.stall_grace_s,
                )
        self.verdict = verdict
        self.failing_from = stall.failing_since(self.failing_from, verdict, now)

    async def _stop(self, stop: Stop, verdict: Verdict) -> None:
        if self.stopping:
            return
        self.stopping = True
        grace = self.settings.worker.stall_grace_s
        # A scoring thread stuck in native code would keep the process alive after a clean stop.
        timer = threading.Timer(max(grace, PROBE_TIMEOUT_S), _exit_now, args=(grace,))
        timer.daemon = True
        timer.start()
        await stop(Stalled(f"unhealthy for {grace:g}s, exiting: {verdict.reason}"))


def _exit_now(grace_s: float) -> None:
    log.critical("the worker did not stop within %gs of failing its health check: exiting now", grace_s)
    logging.shutdown()
    os._exit(1)


def _inputs(app: Any) -> dict[str, frozenset[str]]:
    """Each agent's input topics, from the Faust app and its consumer's assignment."""
    assigned = {tp.topic for tp in _assignment(app)}
    return {
        name: stall.inputs(name, getattr(agent.channel, "topics", ()), assigned)
        for name, agent in app.agents.items()
    }


def _assignment(app: Any) -> set[Any]:
    try:
        return set(app.consumer.assignment())
    except Exception:  # not started, or being rebalanced
        return set()


async def _partition_lags(app: Any, topics: frozenset[str]) -> dict[Partition, int]:
    """Lag of every assigned partition of ``topics`` whose high watermark is known; none while
    the group rebalances."""
    if getattr(app, "rebalancing", False):
        return {}
    consumer = app.consumer
    lags: dict[Partition, int] = {}
    for tp in _assignment(app):
        if tp.topic not in topics:
            continue
        try:
            high = consumer.highwater(tp)
            # Faust's own record of what it committed, cleared when a partition is revoked.
            done = consumer._committed_offset.get(tp)
            if done is None:  # nothing committed yet: what was fetched
                done = await asyncio.wait_for(consumer.position(tp), PROBE_TIMEOUT_S)
        except Exception:  # the partition was revoked meanwhile
            continue
        if high is not None and done is not None:
            lags[(tp.topic, tp.partition)] = stall.lag(high, done)
    return lags


async def _reachable(servers: Iterable[str]) -> bool:
    """Some bootstrap server accepts a connection."""
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host.strip("[]"), int(port)), PROBE_TIMEOUT_S
            )
        except (OSError, ValueError, TimeoutError):
            continue
        writer.close()
        return True
    return False


async def _answers(ping: Ping) -> bool:
    try:
        return await asyncio.wait_for(ping(), PROBE_TIMEOUT_S)
    except Exception:
        return False

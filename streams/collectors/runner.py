"""Polls sources on a schedule, filters what they bring, publishes it, and moves each source's
checkpoint only after the broker acknowledged what it covers.

Each source runs in its own thread, so a slow or rate-limited platform holds up no other. A
source that raises :class:`~streams.collectors.source.SourceStopped` (expired token, missing
permission) stops alone, with one line for the operator and ``flarewatch_collector_stopped`` set;
any other failure (platform or broker unreachable) is logged in one line, counted, and the source
is polled again after the interval, from its last checkpoint.

A batch in flight is recorded before it is sent (:mod:`streams.collectors.checkpoints`); after a
crash the next poll first reads the raw topic back from the recorded offsets and sends only the
mentions that did not arrive, so a kill -9 at any moment neither loses nor duplicates one.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from streams.collectors.checkpoints import CheckpointStore, InFlight, SourceState
from streams.collectors.filters import MentionFilter
from streams.collectors.metrics import CollectorMetrics, SourceStats
from streams.collectors.publish import Publisher
from streams.collectors.seen import SeenIds
from streams.collectors.source import Batch, Source, SourceContext, SourceStopped
from streams.contracts.records import RawMention

log = logging.getLogger("flarewatch.collect")


class Stop(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


class Screen(Protocol):
    """Noise screening after the tracking rules: the mention to publish (maybe flagged), or None
    and the reason it is dropped."""

    def __call__(self, mention: RawMention) -> tuple[RawMention | None, str | None]: ...

    def save(self, force: bool = False) -> None:
        """Keep what the screen remembers (after each poll; ``force``: when the collector ends)."""
        ...


@dataclass
class PollReport:
    source: str
    fetched: int = 0
    published: int = 0
    filtered: Counter[str] = field(default_factory=Counter)
    removals: int = 0
    recovered: int = 0
    """Mentions of a batch in flight at the last crash that were sent again now."""
    error: str | None = None
    stopped: bool = False

    def line(self) -> str:
        dropped = ", ".join(f"{reason} {n}" for reason, n in sorted(self.filtered.items())) or "none"
        text = (
            f"{self.source}: fetched {self.fetched}, published {self.published}, dropped {dropped}, "
            f"removals {self.removals}"
        )
        if self.recovered:
            text += f", re-sent after a crash {self.recovered}"
        if self.error:
            text += f"; {'STOPPED' if self.stopped else 'failed'}: {self.error}"
        return text


class Collector:
    def __init__(
        self,
        publisher: Publisher,
        store: CheckpointStore,
        mention_filter: MentionFilter,
        metrics: CollectorMetrics | None = None,
        stop: Stop | None = None,
        screen: Screen | None = None,
        timeout_s: float = 30.0,
        seen: SeenIds | None = None,
    ) -> None:
        self.publisher = publisher
        self.store = store
        self.filter = mention_filter
        self.metrics = metrics or CollectorMetrics()
        self.stop: Stop = stop or threading.Event()
        self.screen = screen
        self.timeout_s = timeout_s
        self.seen = seen
        """Ids this process published another way (webhooks): skipped, counted as
        ``already_published``; what the polls publish is added."""

    # -- one poll ----------------------------------------------------------------------------

    def poll(self, source: Source) -> PollReport:
        """One poll of ``source``; raises SourceStopped, and whatever the platform or the broker
        raised (the checkpoint then still covers only what was acknowledged)."""
        report = PollReport(source.name)
        stats = self.metrics.source(source.name)
        durable = self.publisher.durable
        state = self.store.load(source.name) if durable else SourceState()
        if state.in_flight is not None:
            state = self._recover(source.name, state, report)
        context = SourceContext(stats=stats, sleep=self._sleep, timeout_s=self.timeout_s)
        try:
            for batch in source.poll(state.checkpoint, context):
                if self.stop.is_set():
                    break  # not sent: the checkpoint does not cover it
                state = self._publish(source.name, state, batch, report)
        finally:
            report.fetched = stats.fetched_count
            stats.poll_ended()
            if self.screen is not None and durable:
                self.screen.save()
        return report

    def _publish(self, name: str, state: SourceState, batch: Batch, report: PollReport) -> SourceState:
        keep = self._kept(name, batch.mentions, report)
        after = batch.checkpoint if batch.checkpoint is not None else state.checkpoint
        if not self.publisher.durable:
            self.publisher.send(keep)
        elif keep:
            offsets = self.publisher.end_offsets()
            self.store.save(
                name, SourceState(state.checkpoint, InFlight(after, tuple(keep), offsets), state.extra)
            )
            self.publisher.send(keep)
        if batch.removals:
            self.publisher.send_removals(batch.removals)
            self.metrics.removals.labels(name).inc(len(batch.removals))
            report.removals += len(batch.removals)
        if self.seen is not None:
            self.seen.add(keep)
        state = SourceState(after, None, state.extra)
        if self.publisher.durable:
            self.store.save(name, state)
        self.metrics.published.labels(name).inc(len(keep))
        report.published += len(keep)
        return state

    def _kept(self, name: str, mentions: Sequence[RawMention], report: PollReport) -> list[RawMention]:
        keep = []
        for mention in mentions:
            if self.seen is not None and self.seen.knows(mention):
                self.metrics.filtered.labels(name, "already_published").inc()
                report.filtered["already_published"] += 1
                continue
            reason = self.filter.reason(mention)
            kept = mention if reason is None else None
            if kept is not None and self.screen is not None:
                kept, reason = self.screen(mention)
            if kept is None:
                reason = reason or "noise"
                self.metrics.filtered.labels(name, reason).inc()
                report.filtered[reason] += 1
                if reason == "duplicate":
                    self.metrics.duplicates.labels(name).inc()
                continue
            for flag in kept.noise:
                self.metrics.flagged.labels(name, flag).inc()
            if kept.duplicate_of is not None:
                self.metrics.duplicates.labels(name).inc()
                self.metrics.flagged.labels(name, "duplicate").inc()
            keep.append(kept)
        return keep

    def _recover(self, name: str, state: SourceState, report: PollReport) -> SourceState:
        flight = state.in_flight
        assert flight is not None
        found = self.publisher.published_ids(flight.offsets)
        missing = [m for m in flight.mentions if m.mention_id not in found]
        if missing:
            self.publisher.send(missing)
        log.info(
            "%s: a batch of %d was in flight at the last stop; %d had arrived, %d sent now",
            name,
            len(flight.mentions),
            len(flight.mentions) - len(missing),
            len(missing),
        )
        report.recovered += len(missing)
        report.published += len(missing)
        self.metrics.published.labels(name).inc(len(missing))
        recovered = SourceState(flight.checkpoint, None, state.extra)
        self.store.save(name, recovered)
        return recovered

    def _sleep(self, seconds: float) -> None:
        self.stop.wait(max(0.0, seconds))

    # -- schedules ---------------------------------------------------------------------------

    def run(
        self,
        sources: Sequence[Source],
        once: bool,
        interval_s: float,
        on_report: Callable[[PollReport], None] = lambda _: None,
    ) -> int:
        """Polls every source (each in a thread) once, or every ``interval_s`` until a stop
        request. The exit code: 0, or 1 when a source stopped or (with ``once``) failed."""
        failed: list[str] = []
        lock = threading.Lock()

        def loop(source: Source) -> None:
            while not self.stop.is_set():
                report = self._poll_safely(source)
                on_report(report)
                if report.error is not None and (once or report.stopped):
                    with lock:
                        failed.append(source.name)
                if once or report.stopped:
                    return
                self.stop.wait(interval_s)

        threads = [threading.Thread(target=loop, args=(s,), name=s.name, daemon=True) for s in sources]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
        if self.screen is not None and self.publisher.durable:
            self.screen.save(force=True)
        return 1 if failed else 0

    def _poll_safely(self, source: Source) -> PollReport:
        stats: SourceStats = self.metrics.source(source.name)
        try:
            report = self.poll(source)
        except SourceStopped as exc:
            self.metrics.stopped.labels(source.name).set(1)
            log.error("%s stopped: %s", source.name, exc)
            return PollReport(source.name, error=str(exc), stopped=True)
        except Exception as exc:
            stats.error(type(exc).__name__)
            log.warning(
                "%s: poll failed (%s: %s); trying again next poll", source.name, type(exc).__name__, exc
            )
            return PollReport(source.name, error=f"{type(exc).__name__}: {exc}")
        log.info("%s", report.line())
        return report

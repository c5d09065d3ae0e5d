"""What each agent does with one batch: run its step, publish what came out, dead-letter what
failed, count, and stop the worker when most recent messages failed.

No Faust and no search client here: ``app.py`` feeds batches of :class:`Incoming` and provides an
:class:`Outbox` and the steps; the unit tests feed lists, a ``tests.fakes.producer.ListProducer``
and the other fakes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

from streams.contracts.codec import encode
from streams.contracts.records import Stage
from streams.kafka.dead_letters import DlqGuard, DlqLimit, TooManyInvalid
from streams.kafka.topics import Topics
from streams.worker.messages import Failed, Incoming, error_reason, failed
from streams.worker.metrics import Counters, Metric, Tally, Timing
from streams.worker.steps.detect import DetectOutput, DetectStep
from streams.worker.steps.index import IndexOutput, IndexStep
from streams.worker.steps.isolate import each_alone
from streams.worker.steps.removals import RemovalsOutput, RemovalsStep
from streams.worker.steps.score import ScoreOutput, ScoreStep

log = logging.getLogger("flarewatch.worker")


class Outbox(Protocol):
    async def publish(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        timestamps: Sequence[float | None] = (),
    ) -> None:
        """Send (key, value) ``messages`` to ``topic``, with the given Kafka timestamps (unix
        seconds; none or None: now); returns once the broker acknowledged them all. May wait;
        raises when the broker does not take them (no one message's fault)."""
        ...


class Output(Protocol):
    dead: list[Failed]
    valid: list[bool]


OutputT = TypeVar("OutputT", bound=Output)


@dataclass(frozen=True, slots=True)
class Context:
    """What every agent shares."""

    outbox: Outbox
    topics: Topics
    counters: Counters
    limit: DlqLimit
    stop: Callable[[BaseException], Awaitable[None]]
    """Stops the worker, on purpose and loudly (the dead-letter limit was crossed)."""


class Agent(ABC, Generic[OutputT]):
    """One agent's handling of a batch. Awaiting it never raises an ``Exception`` for anything a
    batch holds: the step's failures are dead letters, and should the step itself raise (a bug),
    each message is tried alone and the ones that raise alone are dead-lettered with the agent's
    stage. When the dead-letter limit is crossed it calls ``stop``. It raises what the outbox
    raises (the broker refused: not one message's fault). Cancellation propagates."""

    stage: ClassVar[Stage]

    def __init__(self, context: Context) -> None:
        self.context = context
        self.guard = DlqGuard(context.limit)

    async def __call__(self, batch: Sequence[Incoming]) -> None:
        started = time.monotonic()
        outputs, raised = await each_alone(batch, self.run, f"the {self.stage} step")
        for out in outputs:
            await self.emit(out, time.monotonic() - started)
        dead = [d for out in outputs for d in out.dead]
        dead += [failed(m, error_reason(f"the {self.stage} step", exc), self.stage) for m, exc in raised]
        await self.dead_letters(dead)
        await self.check([v for out in outputs for v in out.valid] + [False] * len(raised))

    @abstractmethod
    async def run(self, batch: Sequence[Incoming]) -> OutputT:
        """The step."""

    @abstractmethod
    async def emit(self, out: OutputT, seconds: float) -> None:
        """Publish and count what the step made of a batch (its dead letters excepted)."""

    async def dead_letters(self, dead: Sequence[Failed]) -> None:
        letters = [(m.dlq_key, encode(d)) for m, d in dead]
        await self.context.outbox.publish(self.context.topics.dead_letters, letters)
        self.context.counters.add(Metric.DEAD_LETTERS, len(dead))
        for message, letter in dead:
            log.warning(
                "dead letter %s:%d:%d %s: %s",
                message.topic,
                message.partition,
                message.offset,
                letter.stage,
                letter.reason,
            )

    async def check(self, valid: Sequence[bool]) -> None:
        """Stop the worker when most recent messages were dead-lettered."""
        try:
            for ok in valid:
                self.guard.record(ok)
        except TooManyInvalid as exc:
            await self.context.stop(exc)


class ScoreAgent(Agent[ScoreOutput]):
    stage = Stage.SCORE

    def __init__(self, context: Context, step: ScoreStep, executor: Executor | None = None) -> None:
        super().__init__(context)
        self.step = step
        self.executor = executor
        """Where the step runs (it blocks); None: the event loop's default executor."""

    async def run(self, batch: Sequence[Incoming]) -> ScoreOutput:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.step.run, batch)

    async def emit(self, out: ScoreOutput, seconds: float) -> None:
        scored = [(s.mention.partition_key, encode(s)) for s in out.scored]
        await self.context.outbox.publish(self.context.topics.scored, scored, out.published)
        received, done = len(out.valid), len(out.scored)
        c = self.context.counters
        c.add(Metric.RECEIVED, received)
        c.add(Metric.INVALID, received - done)
        c.add(Metric.SCORED, done - out.unscored)
        c.add(Metric.UNSCORED, out.unscored)
        c.add(Metric.COMPLAINTS, sum(1 for s in out.scored if s.scores.complaint))
        negative = [s for s in out.scored if s.scores.sentiment == "negative" and not s.mention.from_brand]
        c.add(Metric.NEGATIVE, len(negative))
        c.add(Metric.CUSTOMER, sum(1 for s in out.scored if not s.mention.from_brand))
        c.add(Metric.SCORE_SECONDS, out.seconds)
        c.observe(Timing.SCORE_BATCH, [out.seconds])
        log.info(
            "score batch=%d invalid=%d unscored=%d ms=%.0f",
            received,
            received - done,
            out.unscored,
            1000 * out.seconds,
        )


class IndexAgent(Agent[IndexOutput]):
    stage = Stage.INDEX

    def __init__(self, context: Context, step: IndexStep) -> None:
        super().__init__(context)
        self.step = step

    async def run(self, batch: Sequence[Incoming]) -> IndexOutput:
        return await self.step.run(batch)

    async def emit(self, out: IndexOutput, seconds: float) -> None:
        c, now = self.context.counters, time.time()
        c.add(Metric.INDEXED, len(out.indexed))
        c.add(Metric.THREADS_UPDATED, out.threads)
        c.add(Metric.INDEX_REJECTED, out.rejected)
        c.observe(Timing.INDEX_BULK, [seconds])
        c.observe(Timing.CREATED_TO_INDEXED, [now - s.mention.created_at.timestamp() for _, s in out.indexed])
        published = [m.timestamp for m, _ in out.indexed if m.timestamp is not None]
        c.observe(Timing.PUBLISHED_TO_INDEXED, [now - t for t in published])
        log.info(
            "index batch=%d indexed=%d rejected=%d dead=%d ms=%.0f",
            len(out.valid),
            len(out.indexed),
            out.rejected,
            len(out.dead),
            1000 * seconds,
        )


class RemovalsAgent(Agent[RemovalsOutput]):
    stage = Stage.REMOVALS

    def __init__(self, context: Context, step: RemovalsStep) -> None:
        super().__init__(context)
        self.step = step

    async def run(self, batch: Sequence[Incoming]) -> RemovalsOutput:
        return await self.step.run(batch)

    async def emit(self, out: RemovalsOutput, seconds: float) -> None:
        if out.recorded:
            log.info("removals batch=%d recorded=%d ms=%.0f", len(out.valid), out.recorded, 1000 * seconds)


class DetectAgent(Agent[DetectOutput]):
    stage = Stage.DETECT

    def __init__(self, context: Context, step: DetectStep) -> None:
        super().__init__(context)
        self.step = step

    async def run(self, batch: Sequence[Incoming]) -> DetectOutput:
        return self.step.run(batch)

    async def emit(self, out: DetectOutput, seconds: float) -> None:
        signals = [(s.brand.encode(), encode(s)) for s in out.signals]
        await self.context.outbox.publish(self.context.topics.flares, signals)
        c = self.context.counters
        c.add(Metric.DETECTOR_EVENTS, out.counted)
        c.add(Metric.DETECTOR_LATE, out.late)
        c.add(Metric.DETECTOR_REDELIVERIES, out.redelivered)
        for signal in out.signals:
            c.tally(Tally.FLARE_SIGNALS, signal.kind.value)
            log.info(
                "flare %s %s/%s severity=%s observed=%s expected=%s",
                signal.kind.value,
                signal.brand,
                signal.category or "all",
                signal.severity,
                signal.observed,
                signal.expected,
            )
        for error in out.errors:
            log.error("detector: %s", error)

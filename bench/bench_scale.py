"""Scaling out: one worker on one core, then two workers in one consumer group on a core each.

    .venv/bin/python bench/bench_scale.py [--mentions 6000] [--quick] [--json] [--kill] [--rate R]
                                          [--no-rebalance] [--worker-loglevel debug]

On the embedded broker (Tansu) and search server (noida-db), 4 partitions, fresh topics, indices
and consumer group per phase, the real scorer with one inference thread per worker:
1. one ``flarewatch worker`` pinned to CPU 0 drains a backlog of N raw mentions published before
   it started;
2. two workers in one group, pinned to CPU 0 and CPU 1, drain a backlog of the same size. Prints
   both rates, their ratio (target >= 1.7x) and which partitions each worker had;
3. rebalance: with two workers running and mentions flowing at a steady rate, a third worker
   joins, one leaves (SIGTERM) and, with --kill, one is killed (SIGKILL). Then every id
   produced must be in the scored topic (no loss) and the mentions index must hold exactly one
   document per id. Duplicates in the scored topic are counted per event: a join or a graceful
   leave should give none; a kill may redeliver what the killed worker had not committed.
The broker, the search server and this script are not pinned: they take what the workers leave
on both cores. The CPU seconds each process used are printed, to show where a missed ratio went.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.config.settings import Settings, load_settings
from streams.contracts.codec import decode
from streams.contracts.records import RawMention, ScoredMention
from streams.devstack.children import Child, spawn
from streams.devstack.demo import SAMPLE, worker_metrics, write_config
from streams.devstack.embedded import EmbeddedServers, free_port
from streams.kafka.topics import Topics
from streams.search.client import layout
from streams.worker.metrics import Watch

TARGET_RATIO, PARTITIONS = 1.7, 4
IDLE_JOINER = (
    "worker-3 holds no raw partition: Faust's sticky assignor keeps partitions where their table "
    "standbys are (worker.standby_replicas; the bench runs with 0, so this should not happen)"
)
Figures = dict[str, Any]
"""What a phase measured, by name (printed, and dumped as JSON with --json)."""
ESCAPED_NEWLINE = "\\n"
SCORE_FINISHED = f'{Watch.AGENT_MESSAGES.value}{{agent="score"}}'
LAG_LINE = re.compile(re.escape(Watch.CONSUMER_LAG.value) + r"\{(?P<labels>[^}]*)\}")
LABEL = re.compile(r'(\w+)="([^"]*)"')


class Failed(RuntimeError):
    """A worker died, or the workers did not get somewhere in time; the message says which, and
    the line of the worker's log that says why."""


def say(line: str) -> None:
    print(line, flush=True)


# -- pure helpers (tests/unit/test_bench_scale.py) ---------------------------------------------


def assigned(metrics: Mapping[str, float], topic: str) -> frozenset[int]:
    """The partitions of ``topic`` a worker holds, read from the labels of its consumer-lag gauge.

    Why this source: the worker sets that gauge (every ``worker.health_interval_s``) for exactly
    the partitions its consumer has assigned, drops the ones revoked and shows none while the
    group rebalances, and it needs no log parsing. Scored records cannot tell which worker
    made them (they carry no worker id) and Faust's log lines differ between versions."""
    held = set()
    for name in metrics:
        match = LAG_LINE.fullmatch(name)
        if match:
            labels = dict(LABEL.findall(match["labels"]))
            if labels.get("topic") == topic and labels.get("partition", "").isdigit():
                held.add(int(labels["partition"]))
    return frozenset(held)


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    """time.monotonic() when taken."""
    finished: Mapping[str, float]
    """Worker name -> raw mentions its scoring agent has finished (published or dead-lettered)."""
    partitions: Mapping[str, frozenset[int]]
    cpu: Mapping[str, float]
    """Process name -> CPU seconds (user + system) so far."""
    ready: Mapping[str, bool] = field(default_factory=dict)
    """Worker name -> its readiness gauge (joined, not rebalancing, model loaded, servers up)."""

    @property
    def total(self) -> float:
        return sum(self.finished.values())


@dataclass(frozen=True, slots=True)
class Window:
    """The timed part of a drain: from when every worker was scoring until the backlog was done."""

    start: Sample
    end: Sample

    @property
    def seconds(self) -> float:
        return self.end.at - self.start.at

    @property
    def rate(self) -> float:
        return (self.end.total - self.start.total) / self.seconds if self.seconds > 0 else 0.0

    def cpu(self) -> dict[str, float]:
        return {name: self.end.cpu[name] - self.start.cpu.get(name, 0.0) for name in self.end.cpu}


def drain_window(samples: Sequence[Sample], total: int) -> Window | None:
    """Start-up excluded: timing starts at the first sample where every worker has finished
    something (all are loaded, joined and scoring), and ends at the first sample where the workers
    together finished ``total``. None when there is no such pair."""
    start = next((s for s in samples if s.finished and all(s.finished.values())), None)
    if start is None:
        return None
    end = next((s for s in samples if s.at > start.at and s.total >= total), None)
    return Window(start, end) if end is not None else None


def held(samples: Sequence[Sample], window: Window) -> dict[str, list[int]]:
    """The partitions each worker held at some point of the window (overlaps show a rebalance)."""
    inside = [s for s in samples if window.start.at <= s.at <= window.end.at]
    return {w: sorted(set().union(*(s.partitions.get(w, ()) for s in inside))) for w in window.end.finished}


def settled(partitions: Mapping[str, frozenset[int]], workers: Sequence[str], all_busy: bool = True) -> bool:
    """Whether ``workers`` split all partitions between them, no partition held twice (a stale
    gauge during a rebalance shows overlap or gaps) and, with ``all_busy``, each holding some."""
    held = [partitions.get(w, frozenset()) for w in workers]
    every = [p for h in held for p in h]
    return (all(held) or not all_busy) and len(every) == len(set(every)) == PARTITIONS


def duplicates_by_event(marks: Sequence[tuple[str, float]], repeats: Sequence[float]) -> dict[str, int]:
    """Each repeated scoring belongs to the last event before it: ``marks`` holds (event, unix
    time) in order, ``repeats`` the times the duplicates were scored."""
    counts = dict.fromkeys((event for event, _ in marks), 0)
    for at in repeats:
        before = [event for event, when in marks if when <= at]
        if before:
            counts[before[-1]] += 1
    return counts


# -- mentions ------------------------------------------------------------------------------------


def sample_mentions() -> list[RawMention]:
    lines = SAMPLE.read_bytes().splitlines()
    return [m for m in (decode(RawMention, line) for line in lines) if isinstance(m, RawMention)]


def mentions(base: Sequence[RawMention], tag: str) -> Iterator[RawMention]:
    """The sample repeated for ever; every copy has ids of its own (threads included), so it is
    new conversations with new keys."""
    copy = 0
    while True:
        prefix = f"{tag}{copy}"
        for m in base:
            update = {k: f"{prefix}-{v}" if v else v for k, v in _ids(m).items()}
            yield m.model_copy(update=update)
        copy += 1


def _ids(m: RawMention) -> dict[str, str | None]:
    return {"native_id": m.native_id, "thread_id": m.thread_id, "parent_id": m.parent_id}


def balanced(keys: Sequence[bytes], partitions: int = PARTITIONS) -> list[int]:
    """A partition per message: a key's first message goes to the partition with the fewest
    messages so far, and its later ones follow it. A thread stays in one partition, as keying
    promises, and the backlog is split evenly (the default partitioner hashes the sample's
    threads, a few of them long, into shares as uneven as 47 to 155 of 400)."""
    home: dict[bytes, int] = {}
    sizes = [0] * partitions
    out = []
    for key in keys:
        if key not in home:
            home[key] = sizes.index(min(sizes))
        sizes[home[key]] += 1
        out.append(home[key])
    return out


def publish(bootstrap: str, topic: str, batch: Sequence[RawMention]) -> Counter[int]:
    """Publish, spread evenly (see :func:`balanced`), and wait for every acknowledgement;
    returns the mentions per partition."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    keys = [m.partition_key for m in batch]
    try:
        futures = [
            producer.send(topic, key=key, value=m.model_dump_json().encode(), partition=p)
            for m, key, p in zip(batch, keys, balanced(keys), strict=True)
        ]
        producer.flush()
        return Counter(f.get(timeout=30).partition for f in futures)
    finally:
        producer.close()


class SteadyProducer(threading.Thread):
    """Publishes new mentions at ``rate`` per second until stopped; ``acked`` lists the ids the
    broker acknowledged (sends that failed are counted, not retried)."""

    def __init__(self, bootstrap: str, topic: str, rate: float, source: Iterator[RawMention]) -> None:
        super().__init__(name="producer", daemon=True)
        self.bootstrap, self.topic, self.rate, self.source = bootstrap, topic, rate, source
        self.halt = threading.Event()
        self.acked: list[str] = []
        self.failed = 0

    def run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        started, sent = time.monotonic(), 0
        while not self.halt.is_set():
            self.halt.wait(max(0.0, started + sent / self.rate - time.monotonic()))
            m = next(self.source)
            future = producer.send(self.topic, key=m.partition_key, value=m.model_dump_json().encode())
            future.add_callback(lambda _, mid=m.mention_id: self.acked.append(mid))
            future.add_errback(lambda _: self._failed())
            sent += 1
        producer.flush()
        producer.close()

    def _failed(self) -> None:
        self.failed += 1

    def stop(self) -> None:
        self.halt.set()
        self.join(60)


@dataclass(frozen=True, slots=True)
class Scored:
    """The scored topic's records, as (mention id, unix time it was scored)."""

    records: list[tuple[str, float]]

    @property
    def ids(self) -> set[str]:
        return {mid for mid, _ in self.records}

    @property
    def duplicates(self) -> int:
        return len(self.records) - len(self.ids)

    def repeats(self) -> list[float]:
        """When each duplicate was scored: every scoring of an id after its first."""
        seen: set[str] = set()
        repeats = []
        for mid, at in sorted(self.records, key=lambda r: r[1]):
            if mid in seen:
                repeats.append(at)
            seen.add(mid)
        return repeats


def read_scored(bootstrap: str, topic: str) -> Scored:
    """The whole scored topic, read from the start by a fresh consumer outside any group, until
    it has nothing more for three polls in a row. A fresh read each time, instead of one consumer
    following the topic: such a consumer fell behind on Tansu and stayed there (2,514 ids read of
    2,907 there, found by reading again), and Tansu answers ListOffsets(latest) wrongly, so the
    end of the topic cannot be asked for either."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    records: list[tuple[str, float]] = []
    idle = 0
    while idle < 3:
        batches = consumer.poll(timeout_ms=1000)
        idle = 0 if batches else idle + 1
        for batch in batches.values():
            records += [r for r in (_scored(record.value) for record in batch) if r is not None]
    consumer.close()
    return Scored(records)


def _scored(value: bytes) -> tuple[str, float] | None:
    scored = decode(ScoredMention, value)
    if isinstance(scored, ScoredMention):
        return scored.mention.mention_id, scored.scored_at.timestamp()
    return None


def wait_scored(bootstrap: str, topic: str, ids: set[str], timeout_s: float) -> Scored:
    """Reads the scored topic again until it holds every one of ``ids`` or the time is up."""
    deadline = time.monotonic() + timeout_s
    scored = read_scored(bootstrap, topic)
    while ids - scored.ids and time.monotonic() < deadline:
        time.sleep(2)
        scored = read_scored(bootstrap, topic)
    return scored


# -- workers -------------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    cpu: int
    port: int
    child: Child


@dataclass
class Phase:
    """One phase's topics, indices and group, and the workers started for it."""

    settings: Settings
    folder: Path
    log: Callable[[str], None]
    loglevel: str = "info"
    workers: dict[str, Worker] = field(default_factory=dict)

    @property
    def raw(self) -> str:
        return Topics(self.settings.kafka.topic_prefix).raw

    @property
    def scored(self) -> str:
        return Topics(self.settings.kafka.topic_prefix).scored

    def start(self, name: str, cpu: int) -> Worker:
        """``flarewatch worker`` under ``taskset -c cpu``: the pinning covers every thread the
        worker will start (the event loop, the scorer's executor, ONNX Runtime's pool)."""
        port = free_port()
        own = self.settings.worker.model_copy(update={"web_port": port, "data_dir": self.folder / name})
        config = write_config(self.settings.model_copy(update={"worker": own}), self.folder / f"{name}.yaml")
        argv = ["taskset", "-c", str(cpu), sys.executable, "-m", "streams", "--config", str(config)]
        log = self.folder / "logs" / f"{name}.log"
        child = spawn(name, [*argv, "worker", "--loglevel", self.loglevel], log)
        self.workers[name] = worker = Worker(name, cpu, port, child)
        self.log(f"  {name} started on CPU {cpu} (pid {child.process.pid}, log {child.log_path})")
        return worker

    def live(self) -> list[Worker]:
        return [w for w in self.workers.values() if w.child.alive()]

    def stop_all(self) -> None:
        for worker in self.workers.values():
            worker.child.stop(timeout=20)


class Probe:
    """Samples the workers' /metrics pages and the CPU time of every process of the run."""

    def __init__(self, phase: Phase, servers: EmbeddedServers) -> None:
        self.phase, self.servers = phase, servers
        self.last: dict[str, dict[str, float]] = {}

    def sample(self) -> Sample:
        for worker in self.phase.live():
            metrics = worker_metrics(worker.port, timeout_s=5)
            if metrics:  # a busy worker may not answer in time: keep what it said before
                self.last[worker.name] = metrics
        now = {w.name: self.last.get(w.name, {}) for w in self.phase.live()}
        return Sample(
            at=time.monotonic(),
            finished={name: m.get(SCORE_FINISHED, 0.0) for name, m in now.items()},
            partitions={name: assigned(m, self.phase.raw) for name, m in now.items()},
            cpu=self.cpu(),
            ready={name: m.get(Watch.READY.value) == 1.0 for name, m in now.items()},
        )

    def cpu(self) -> dict[str, float]:
        pids = {"this script": os.getpid()} | {c.name: c.process.pid for c in self.servers.children}
        pids |= {w.name: w.child.process.pid for w in self.phase.workers.values()}
        seconds = {}
        for name, pid in pids.items():
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            seconds[name] = times.user + times.system
        return seconds

    def check(self) -> None:
        self.servers.check()
        for worker in self.phase.workers.values():
            if not worker.child.alive() and worker.child.process.returncode not in (0, -signal.SIGKILL):
                raise Failed(
                    f"{worker.name} exited ({worker.child.process.returncode}): {last_error(worker)}"
                )

    def wait(self, done: Callable[[Sample], bool], what: str, timeout_s: float) -> list[Sample]:
        """Sample every half second until ``done``; progress every 10 s; Failed on timeout."""
        samples: list[Sample] = []
        started = shown = time.monotonic()
        while time.monotonic() - started < timeout_s:
            self.check()
            samples.append(self.sample())
            if done(samples[-1]):
                return samples
            if time.monotonic() - shown >= 10:
                self.phase.log(
                    f"    {time.monotonic() - started:4.0f}s waiting for {what}: {_state(samples[-1])}"
                )
                shown = time.monotonic()
            time.sleep(0.5)
        raise Failed(f"timed out after {timeout_s:.0f}s waiting for {what}; {self.stuck()}")

    def stuck(self) -> str:
        """The last line in the workers' logs that says why a rebalance does not finish: Faust
        waits, before giving up its partitions, for every message it handed to an agent."""
        lines = []
        for worker in self.phase.workers.values():
            found = [line for line in worker.child.tail(400).splitlines() if "wait_empty: Waiting" in line]
            lines += [f"{worker.name}: {found[-1].strip()}"] if found else []
        return "; ".join(lines) or "no worker log says why"


def last_error(worker: Worker) -> str:
    """Why the worker died, from its log: Faust's ``Crashed reason=`` line when there is one (the
    errors after it are the shutdown's), else the last line naming an error."""
    lines = [line.strip() for line in worker.child.tail(600).splitlines()]
    crashed = [line[line.index("Crashed reason=") :] for line in lines if "Crashed reason=" in line]
    found = crashed[:1] or [line for line in lines if "Error" in line][-1:] or ["no error in its log"]
    first = found[0].split(ESCAPED_NEWLINE)[0][:300]  # Faust writes the reason's repr: "\\n", not a newline
    return f"{first} (log: {worker.child.log_path})"


def _state(s: Sample) -> str:
    return ", ".join(
        f"{w} {s.finished[w]:,.0f} done, partitions {sorted(s.partitions.get(w, ()))}" for w in s.finished
    )


# -- phases --------------------------------------------------------------------------------------


@dataclass
class Bench:
    servers: EmbeddedServers
    folder: Path
    base: list[RawMention]
    quick: bool
    log: Callable[[str], None] = say
    loglevel: str = "info"
    phases: list[Phase] = field(default_factory=list)

    def phase(self, tag: str) -> Phase:
        from streams.cli.worker import prepare

        run = f"scale-{tag}-{uuid.uuid4().hex[:6]}"
        settings = load_settings(
            None,
            kafka={
                "bootstrap_servers": self.servers.bootstrap,
                "topic_prefix": run,
                "partitions": PARTITIONS,
                "group_id": run,
                "session_timeout_s": 6,
                "heartbeat_interval_s": 1,
            },
            elasticsearch={"url": self.servers.search_url, "index_prefix": run},
            scoring={"threads": 1},
            # No standby table copies: on the embedded broker (Tansu), whose ListOffsets(latest)
            # answers short of the log end, a standby that read a changelog to its real end makes
            # the worker taking the partition over crash with Faust's ConsistencyError. Real Kafka
            # has no such bug; the production default stays 1 (worker.standby_replicas).
            worker={"health_interval_s": 1.0, "standby_replicas": 0},
        )
        prepare(settings)  # topics with 4 partitions before anything is published
        phase = Phase(settings, self.folder / tag, self.log, self.loglevel)
        self.phases.append(phase)
        return phase

    def drain(self, tag: str, n: int, cpus: Sequence[int]) -> Figures:
        """Publish ``n`` mentions, then start one worker per CPU and time them draining it."""
        phase = self.phase(tag)
        backlog = _take(mentions(self.base, tag), n)
        published = {m.mention_id for m in backlog}
        spread = publish(self.servers.bootstrap, phase.raw, backlog)
        self.log(f"  {n:,} mentions published; per partition: {dict(sorted(spread.items()))}")
        for i, cpu in enumerate(cpus):
            phase.start(f"worker-{i + 1}", cpu)
        probe = Probe(phase, self.servers)
        samples = probe.wait(lambda s: s.total >= n, f"{n:,} mentions scored", 300 + n / 5)
        pinned = {w.name: sorted(os.sched_getaffinity(w.child.process.pid)) for w in phase.live()}
        window = drain_window(samples, n)
        if window is None:
            raise Failed(
                "the workers finished before every one of them was seen scoring; use more --mentions"
            )
        scored = wait_scored(self.servers.bootstrap, phase.scored, set(published), 60)
        phase.stop_all()
        figures = {
            "rate": window.rate,
            "seconds": window.seconds,
            "timed_mentions": window.end.total - window.start.total,
            "partitions": held(samples, window),
            "cpus": pinned,
            "finished": dict(window.end.finished),
            "cpu_seconds": window.cpu(),
            "scored_unique": len(scored.ids & published),
            "scored_duplicates": scored.duplicates,
            "published_per_partition": dict(sorted(spread.items())),
        }
        figures["per_worker_cpu_second"] = per_worker_cpu_second(figures)
        figures["worker_cpu_share"] = worker_cpu_share(figures)
        return figures

    def rebalance(self, rate: float, kill: bool) -> Figures:
        """Two workers, a steady stream, a third joins, one leaves, one is killed; then count. A
        group that never settles is reported (with the log line that says why), not waited out."""
        phase = self.phase("rebalance")
        run = Rebalance(phase, Probe(phase, self.servers), rate, 5.0 if self.quick else 10.0)
        self.log(f"  producing {rate:.0f} mentions/s")
        run.producer.start()
        try:
            run.start_two()
            run.join()
            run.leave()
            if kill:
                run.kill()
        except Failed as exc:
            self.log(f"  {exc}")
            return {"rate": rate, "failed": str(exc), "split_after_join": run.join_split}
        finally:
            run.producer.stop()
        return run.count()


@dataclass
class Rebalance:
    """Phase 3's steps. Each waits until the group has settled (the live workers split the raw
    partitions with no gaps and no overlap), then lets the stream flow for ``settle`` seconds."""

    phase: Phase
    probe: Probe
    rate: float
    settle: float
    marks: list[tuple[str, float]] = field(default_factory=list)
    join_split: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bootstrap = self.phase.settings.kafka.bootstrap_servers
        self.producer = SteadyProducer(bootstrap, self.phase.raw, self.rate, mentions(sample_mentions(), "r"))

    def start_two(self) -> None:
        self.marks.append(("start", time.time()))
        self.phase.start("worker-1", 0)
        self.phase.start("worker-2", 1)
        self._settled(["worker-1", "worker-2"], "the two workers to split the partitions", 120)
        time.sleep(self.settle)

    def join(self) -> None:
        self._event("worker-3 joins")
        self.phase.start("worker-3", 0)
        joined = self.probe.wait(
            lambda s: (
                s.ready.get("worker-3", False)
                and settled(s.partitions, ["worker-1", "worker-2", "worker-3"], all_busy=False)
            ),
            "worker-3 to join and the group to settle",
            120,
        )
        self.join_split = {w: sorted(p) for w, p in joined[-1].partitions.items()}
        self.phase.log(f"    split: {_split(joined[-1])}")
        if not self.join_split["worker-3"]:
            self.phase.log(f"    {IDLE_JOINER}")
        time.sleep(self.settle)

    def leave(self) -> None:
        self._event("worker-1 leaves (SIGTERM)")
        code, seconds = _timed_stop(self.phase.workers["worker-1"], signal.SIGTERM)
        self.phase.log(f"    worker-1 exited with {code} after {seconds:.1f}s")
        self._settled(["worker-2", "worker-3"], "worker-2 and worker-3 to take over", 90)
        time.sleep(self.settle)

    def kill(self) -> None:
        self._event("worker-2 killed (SIGKILL)")
        _timed_stop(self.phase.workers["worker-2"], signal.SIGKILL)
        self._settled(["worker-3"], "worker-3 to take over", 90)
        time.sleep(self.settle)

    def _settled(self, workers: list[str], what: str, timeout_s: float) -> None:
        samples = self.probe.wait(lambda s: settled(s.partitions, workers), what, timeout_s)
        self.phase.log(f"    split: {_split(samples[-1])}")

    def _event(self, event: str) -> None:
        self.marks.append((event, time.time()))
        self.phase.log(f"  {event} ({self.probe.sample().total:,.0f} mentions scored by the live workers)")

    def count(self) -> Figures:
        """After the stream stopped: wait until every acknowledged id was scored (or the time is
        up), then count what was lost, duplicated and indexed."""
        acked = set(self.producer.acked)
        self.phase.log(
            f"  producer stopped: {len(acked):,} mentions acknowledged, {self.producer.failed} failed sends"
        )
        self._event("after the stream stopped")
        scored = wait_scored(self.phase.settings.kafka.bootstrap_servers, self.phase.scored, acked, 120)
        indexed = self._indexed(len(acked))
        return {
            "rate": self.rate,
            "produced": len(acked),
            "failed_sends": self.producer.failed,
            "lost": len(acked - scored.ids),
            "lost_ids": sorted(acked - scored.ids)[:20],
            "scored_duplicates": scored.duplicates,
            "duplicates_by_event": duplicates_by_event(self.marks, scored.repeats()),
            "indexed": indexed,
            "index_duplicates": max(0, indexed - len(acked)),
            "split_after_join": self.join_split,
        }

    def _indexed(self, expected: int) -> int:
        """Documents in the mentions index once it reached ``expected`` (or a minute passed)."""
        es = Elasticsearch(self.phase.settings.elasticsearch.url)
        index = layout(self.phase.settings.elasticsearch).mentions

        def count() -> int:
            es.indices.refresh(index=index)
            return int(es.count(index=index)["count"])

        _until(lambda: count() >= expected, 60, self.probe.check)
        time.sleep(2)
        return count()


def _take(source: Iterator[RawMention], n: int) -> list[RawMention]:
    return [next(source) for _ in range(n)]


def _split(s: Sample) -> str:
    return ", ".join(f"{w} {sorted(p)}" for w, p in s.partitions.items())


def _timed_stop(worker: Worker, sig: int) -> tuple[int | None, float]:
    started = time.monotonic()
    worker.child.stop(sig, timeout=30)
    return worker.child.process.returncode, time.monotonic() - started


def _until(done: Callable[[], bool], timeout_s: float, check: Callable[[], None] = lambda: None) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        check()
        if done():
            return True
        time.sleep(0.5)
    return False


# -- report --------------------------------------------------------------------------------------


def report(one: Figures, two: Figures, moved: Figures | None) -> list[tuple[str, bool]]:
    ratio = two["rate"] / one["rate"]
    print("\nresults (broker, search server and this script unpinned; workers pinned as shown)")
    for label, r in (("1 worker, CPU 0", one), ("2 workers, CPU 0 + 1", two)):
        print(
            f"  {label:<21} {r['rate']:7.1f} mentions/s ({r['timed_mentions']:,.0f} timed in "
            f"{r['seconds']:.0f}s, start-up excluded; scored topic: {r['scored_unique']:,} ids, "
            f"{r['scored_duplicates']} duplicates)"
        )
        for worker, parts in r["partitions"].items():
            print(
                f"      {worker}: pinned to CPU {r['cpus'][worker]}, partitions {parts}, "
                f"scored {r['finished'][worker]:,.0f}"
            )
        cpu = ", ".join(f"{name} {s:.1f}" for name, s in r["cpu_seconds"].items())
        print(f"      CPU seconds in the timed window: {cpu} (of {2 * r['seconds']:.0f} on 2 cores)")
        print(
            f"      mentions per worker CPU-second: {r['per_worker_cpu_second']:.1f}; the workers got "
            f"{r['worker_cpu_share']:.0%} of their cores"
        )
    print(f"  ratio                 {ratio:7.2f}x")
    checks = [(f"two workers >= {TARGET_RATIO}x one worker ({ratio:.2f}x)", ratio >= TARGET_RATIO)]
    if moved is not None:
        checks += rebalance_checks(moved)
    print()
    for label, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label}")
    return checks


def per_worker_cpu_second(r: Figures) -> float:
    """Throughput per CPU second the workers used: flat from one worker to two means the scaling
    itself is linear, and a missed ratio is CPU the workers did not get."""
    used = sum(s for name, s in r["cpu_seconds"].items() if name.startswith("worker-"))
    return float(r["timed_mentions"] / used) if used else 0.0


def worker_cpu_share(r: Figures) -> float:
    used = sum(s for name, s in r["cpu_seconds"].items() if name.startswith("worker-"))
    return float(used / (r["seconds"] * len(r["cpus"]))) if r["seconds"] else 0.0


def rebalance_checks(moved: Figures) -> list[tuple[str, bool]]:
    if "failed" in moved:
        print(f"  rebalance at {moved['rate']:.0f} mentions/s: stopped early: {moved['failed']}")
        return [("rebalance: every worker kept running and the group settled after each change", False)]
    events = ", ".join(f"{e}: {d}" for e, d in moved["duplicates_by_event"].items())
    print(
        f"  rebalance at {moved['rate']:.0f} mentions/s: {moved['produced']:,} produced; "
        f"split after worker-3 joined: {moved['split_after_join']}; duplicates by event: {events}"
    )
    print(
        f"  loss: {moved['lost']}, duplicates in scored topic: {moved['scored_duplicates']}, "
        f"duplicates in the index: {moved['index_duplicates']} ({moved['indexed']:,} documents)"
    )
    graceful = sum(d for e, d in moved["duplicates_by_event"].items() if "killed" not in e)
    return [
        ("rebalance: every worker kept running and the group settled after each change", True),
        ("rebalance: no mention lost", moved["lost"] == 0 and moved["failed_sends"] == 0),
        ("rebalance: one index document per mention", moved["indexed"] == moved["produced"]),
        ("rebalance: no duplicates from joins and graceful leaves", graceful == 0),
    ]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=6000, help="backlog per throughput phase")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 400 mentions, short pauses")
    parser.add_argument(
        "--rate", type=float, help="mentions/s during the rebalance (default: 40%% of one worker)"
    )
    parser.add_argument("--kill", action="store_true", help="also SIGKILL a worker in the rebalance phase")
    parser.add_argument("--no-rebalance", action="store_true", help="throughput phases only")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON at the end")
    parser.add_argument(
        "--worker-loglevel",
        choices=["debug", "info", "warn", "error"],
        default="info",
        help="the workers' log level (logs under the run's folder; debug shows every commit)",
    )
    return parser.parse_args()


def run_phases(bench: Bench, n: int, args: argparse.Namespace) -> tuple[Figures, Figures, Figures | None]:
    say(f"phase 1: one worker on CPU 0, {n:,} mentions of backlog")
    one = bench.drain("one", n, [0])
    say(f"  {one['rate']:.1f} mentions/s")
    say(f"phase 2: two workers on CPU 0 and CPU 1, {n:,} mentions of backlog")
    two = bench.drain("two", n, [0, 1])
    say(f"  {two['rate']:.1f} mentions/s")
    if args.no_rebalance:
        return one, two, None
    say("phase 3: rebalance while mentions flow")
    return one, two, bench.rebalance(args.rate or max(5.0, round(0.4 * one["rate"])), args.kill)


def main() -> None:
    args = arguments()
    n = 400 if args.quick else args.mentions
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs at least 2 CPUs to pin two workers")
    base = sample_mentions()
    folder = Path(tempfile.mkdtemp(prefix="flarewatch-scale-"))
    servers = EmbeddedServers(folder / "servers", say).start()
    bench = Bench(servers, folder, base, args.quick, loglevel=args.worker_loglevel)
    try:
        one, two, moved = run_phases(bench, n, args)
    except Failed as exc:
        raise SystemExit(str(exc)) from None
    except KeyboardInterrupt:
        raise SystemExit("interrupted; every server and worker this run started is stopped") from None
    finally:
        for phase in bench.phases:
            phase.stop_all()
        bench.servers.stop()
    checks = report(one, two, moved)
    if args.json:
        figures = {
            "mentions": n,
            "one": one,
            "two": two,
            "rebalance": moved,
            "ratio": two["rate"] / one["rate"],
        }
        print(json.dumps(figures | {"checks": dict(checks)}, indent=2))
    if not all(ok for label, ok in checks if label.startswith("rebalance")):
        sys.exit(1)  # lost or doubled mentions, or a worker that died: not a matter of a busy machine


if __name__ == "__main__":
    main()

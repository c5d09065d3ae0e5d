"""End-to-end pipeline benchmark: broker -> scoring (real model) -> search index.

    .venv/bin/python bench/bench_pipeline.py [--mentions 20000] [--latency-seconds 30]
        [--curve-seconds 20] [--curve-probe 3000] [--profile worker.svg|worker.txt]

In one run, on this machine (broker, search server, worker and this script share the cores):
1. the scorer alone scores the same texts in batches of 64 (the worker's batch size);
2. publish-to-searchable latency at an offered load of 50 mentions/s (p50, p95);
3. the latency curve, before the throughput run: the maximum throughput over ``--curve-probe``
   mentions published at once, then publish-to-searchable at 25%, 50% and 80% of it, once every
   agent has caught up (after the throughput run the embedded search server's bulk requests are
   several times slower on the larger index, and the curve would measure that);
4. throughput: all mentions published at once, timed until every one is searchable;
5. the worker's peak memory (VmHWM), and its memory (VmRSS) after warm-up, at 20,000 mentions
   and at the end of the throughput run: flat when ``--mentions 100000`` ends where 20,000 did.
``--profile FILE`` samples the worker with py-spy (``pip install py-spy``) during the throughput
run: a flame graph for ``.svg``, collapsed stacks otherwise, and the frames that took the most
samples printed either way (from collapsed stacks, recorded alongside the flame graph's run).
Uses the embedded Tansu and noida-db, or KAFKA_BOOTSTRAP_SERVERS and ELASTICSEARCH_URL when set.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from elasticsearch import Elasticsearch
from kafka import KafkaProducer
from proc_memory import memory_mib

from models.loading import ScorerConfig, build_scorer
from models.scores import ScoreRequest
from streams.config.scoring import default_cache_dir
from streams.config.settings import Settings, load_settings
from streams.contracts.codec import decode
from streams.contracts.records import RawMention
from streams.devstack.children import Child
from streams.devstack.demo import SAMPLE, start_worker, worker_metrics, write_config
from streams.devstack.embedded import EmbeddedServers, free_port
from streams.kafka.topics import Topics
from streams.search.client import layout
from streams.worker.metrics import Metric, Watch

TARGET_SHARE, TARGET_P95, TARGET_MEMORY_MIB = 0.85, 1.0, 1024
CHECKPOINT = 20_000
CURVE = (0.25, 0.50, 0.80)
"""Shares of the measured throughput offered for the latency curve."""


def mentions(n: int, tag: str) -> list[RawMention]:
    """Sample-stream mentions, repeated until there are ``n``. Each copy of the sample gets ids
    of its own, threads included, so a copy is new conversations, as in a real stream, and not
    the same threads growing with every copy."""
    base = [
        m
        for m in (decode(RawMention, line) for line in SAMPLE.read_bytes().splitlines())
        if isinstance(m, RawMention)
    ]
    out = []
    for i in range(n):
        m = base[i % len(base)]
        copy = f"{tag}{i // len(base)}"

        def fresh(value: str | None, copy: str = copy) -> str | None:
            return f"{copy}-{value}" if value else value

        update = {
            "native_id": fresh(m.native_id),
            "thread_id": fresh(m.thread_id),
            "parent_id": fresh(m.parent_id),
        }
        out.append(m.model_copy(update=update))
    return out


def scorer_alone(texts: list[str]) -> float:
    scorer = build_scorer(ScorerConfig(cache_dir=default_cache_dir()))
    scorer.detector.warm_up()
    scorer.score([ScoreRequest(t) for t in texts[:64]])
    started = time.perf_counter()
    for i in range(0, len(texts), 64):
        scorer.score([ScoreRequest(t) for t in texts[i : i + 64]])
    return len(texts) / (time.perf_counter() - started)


def settings_for(
    bootstrap: str, url: str, folder: Path, overrides: dict[str, dict[str, object]] | None = None
) -> Settings:
    """A run of its own (topics, group, indices), with ``overrides`` per settings section."""
    run = uuid.uuid4().hex[:8]
    more = overrides or {}
    return load_settings(
        None,
        kafka={
            "bootstrap_servers": bootstrap,
            "topic_prefix": f"bench-{run}",
            "partitions": 4,
            "group_id": f"bench-{run}",
            "session_timeout_s": 6,
            "heartbeat_interval_s": 1,
            **more.get("kafka", {}),
        },
        elasticsearch={"url": url, "index_prefix": f"bench-{run}", **more.get("elasticsearch", {})},
        worker={"web_port": free_port(), "data_dir": str(folder / "worker"), **more.get("worker", {})},
        **{k: v for k, v in more.items() if k not in ("kafka", "elasticsearch", "worker")},
    )


def count(es: Elasticsearch, index: str) -> int:
    """The index's document count. noida-db counts by scanning (seconds past 100,000 documents),
    so the request may take longer than the client's default 10 s."""
    return int(es.options(request_timeout=300).count(index=index)["count"])


def indexed(port: int, worker: Child) -> float:
    """The worker's count of mentions Elasticsearch acknowledged. Asks again when the page does
    not answer in time (a busy event loop), instead of reading that as zero."""
    while not (metrics := worker_metrics(port, timeout_s=30)):
        if not worker.alive():
            raise SystemExit(f"worker died:\n{worker.why(30)}")
        time.sleep(0.5)
    return metrics.get(Metric.INDEXED.value, 0.0)


def publish(producer: KafkaProducer, topic: str, batch: list[RawMention]) -> None:
    """Every mention of ``batch`` at once, keyed as collectors key them; returns once acknowledged."""
    for m in batch:
        producer.send(topic, key=m.partition_key, value=m.model_dump_json().encode())
    producer.flush()


@dataclass(frozen=True, slots=True)
class Run:
    """A worker of its own, warmed up, and what a benchmark talks to it with."""

    worker: Child
    es: Elasticsearch
    index: str
    """The mentions alias."""
    topic: str
    """The raw topic."""
    producer: KafkaProducer


def start_run(settings: Settings, folder: Path, tag: str = "w", warm_up: int = 200) -> Run:
    """Topics and indices for ``settings``, a worker on them, and ``warm_up`` mentions through it
    until searchable (the model loaded, the first batches done). Stops the worker if that fails;
    the caller stops it otherwise."""
    from streams.cli.worker import prepare

    prepare(settings)
    worker = start_worker(write_config(settings, folder / "flarewatch.yaml"), folder)
    try:
        wait_ready(settings.worker.web_port, worker)
        es = Elasticsearch(settings.elasticsearch.url)
        index = layout(settings.elasticsearch).mentions
        topic = Topics(settings.kafka.topic_prefix).raw
        producer = KafkaProducer(bootstrap_servers=settings.kafka.servers, acks="all", linger_ms=5)
        warm = mentions(warm_up, tag)
        publish(producer, topic, warm)
        while count(es, index) < len(warm):
            time.sleep(0.5)
    except BaseException:
        worker.stop()
        raise
    return Run(worker, es, index, topic, producer)


def flood(producer: KafkaProducer, topic: str, batch: list[RawMention], port: int, worker: Child) -> float:
    """Mentions per second from publishing ``batch`` at once until the worker has indexed it."""
    target = indexed(port, worker) + len(batch)
    started = time.monotonic()
    publish(producer, topic, batch)
    while indexed(port, worker) < target:
        time.sleep(0.2)
    return len(batch) / (time.monotonic() - started)


def settle(port: int, timeout_s: float = 900) -> float:
    """Seconds until no agent has messages waiting (detection, threads and incidents catch up
    after indexing; the worker's lag gauges are refreshed every few seconds)."""
    started = time.monotonic()
    time.sleep(6)  # one health interval, so the gauges reflect the run that just ended
    while time.monotonic() - started < timeout_s:
        metrics = worker_metrics(port, timeout_s=30)
        lag = sum(v for k, v in metrics.items() if k.startswith(Watch.AGENT_LAG.value))
        if metrics and lag == 0:
            break
        time.sleep(1)
    return time.monotonic() - started


def wait_ready(port: int, worker: Child, timeout_s: float = 300) -> None:
    """Until the worker serves its metrics; ends the benchmark at once if the worker exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker_metrics(port):
            return
        if not worker.alive():
            raise SystemExit(
                f"the worker exited ({worker.process.returncode}) before it was ready: see {worker.log_path}"
            )
        time.sleep(0.5)
    raise SystemExit("the worker did not become ready")


def latency(
    producer: KafkaProducer, topic: str, es: Elasticsearch, index: str, batch: list[RawMention], rate: float
) -> list[float]:
    """Publish at ``rate``/s; poll search for the published ids; seconds from send to searchable."""
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set() or len(seen) < len(sent):
            pending = [i for i in list(sent) if i not in seen]
            if pending:
                hits = es.search(
                    index=index, query={"ids": {"values": pending[:1000]}}, size=1000, source=False
                )["hits"]["hits"]
                now = time.monotonic()
                for hit in hits:
                    seen.setdefault(hit["_id"], now)
            time.sleep(0.1)
            if done.is_set() and time.monotonic() - last_send > 60:
                return

    last_send = time.monotonic()
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    started = time.monotonic()
    for i, m in enumerate(batch):
        due = started + i / rate
        time.sleep(max(0.0, due - time.monotonic()))
        producer.send(topic, key=m.partition_key, value=m.model_dump_json().encode())
        producer.flush()
        sent[m.mention_id] = last_send = time.monotonic()
    done.set()
    poller.join()
    return [seen[k] - sent[k] for k in sent if k in seen]


def cpu_seconds(pid: int, skip: frozenset[int] = frozenset()) -> float:
    """CPU time (user + system, all threads) of a process and its live descendants, leaving out
    the subtrees rooted at ``skip``."""
    children: dict[int, list[int]] = {}
    seconds: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            seconds[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += seconds.get(current, 0.0)
        todo.extend(c for c in children.get(current, []) if c not in skip)
    return total


def percentiles(delays: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(delays, n=100)
    return cuts[49], cuts[94]


class Profiler:
    """py-spy sampling a process until stopped: collapsed stacks (and a flame graph for .svg)."""

    def __init__(self, pid: int, out: Path) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(spy).exists():
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self.stacks = out if out.suffix != ".svg" else out.with_suffix(".txt")
        formats = [("raw", self.stacks)] + ([("flamegraph", out)] if out.suffix == ".svg" else [])
        self.spies = [
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--threads",
                    "--rate",
                    "50",
                    "--nonblocking",
                    "--format",
                    kind,
                    "--output",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for kind, path in formats
        ]

    def stop(self) -> None:
        for spy in self.spies:
            spy.send_signal(signal.SIGINT)
        for spy in self.spies:
            _, err = spy.communicate(timeout=60)
            if spy.returncode not in (0, -signal.SIGINT):
                print(f"  py-spy: {err.decode(errors='replace').strip()[-300:]}")

    def summary(self, top: int = 15) -> list[str]:
        """Each thread's share of the samples, then the project's own frames (``streams/``,
        ``models/``, past the entry points) by the samples with them anywhere in the stack."""
        threads: dict[str, int] = {}
        inclusive: dict[str, int] = {}
        total = 0
        for line in self.stacks.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not n.isdigit():
                continue
            frames = stack.split(";")
            total += int(n)
            threads[frames[0]] = threads.get(frames[0], 0) + int(n)
            for frame in set(frames[1:]):
                if OWN_FRAME.search(frame):
                    inclusive[frame] = inclusive.get(frame, 0) + int(n)
        if not total:
            return ["  (no samples)"]
        by_thread = sorted(threads.items(), key=lambda t: -t[1])
        lines = [f"  {n / total:6.1%}  {name}" for name, n in by_thread]
        lines.append("  the project's frames (samples with the frame anywhere in the stack):")
        ranked = sorted(inclusive.items(), key=lambda t: -t[1])[:top]
        lines += [f"  {n / total:6.1%}  {frame[:140]}" for frame, n in ranked]
        return lines


OWN_FRAME = re.compile(r"\((streams|models)/(?!cli/|__main__)(?!worker/health)")
"""A frame of the project's code below its command-line entry and its health wrapper."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=50.0, help="offered load for the latency phase")
    parser.add_argument(
        "--curve-seconds",
        type=float,
        default=20.0,
        help="seconds of each point of the latency curve (0: none)",
    )
    parser.add_argument(
        "--curve-probe", type=int, default=3000, help="mentions flooded in to find the curve's maximum"
    )
    parser.add_argument("--profile", type=Path, help="py-spy the worker during the throughput run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="flarewatch-bench-"))
    load = mentions(args.mentions, "t")
    print(f"scorer alone on {len(load):,} texts (batches of 64)...", flush=True)
    alone = scorer_alone([m.text for m in load])
    print(f"  {alone:.1f} texts/s", flush=True)

    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("ELASTICSEARCH_URL")
    servers = None
    if not all(external):
        servers = EmbeddedServers(folder / "servers", print).start()
        external = servers.bootstrap, servers.search_url
    bootstrap, url = external
    assert bootstrap and url
    settings = settings_for(bootstrap, url, folder)
    run = start_run(settings, folder)
    worker, es, index, topic, producer = run.worker, run.es, run.index, run.topic, run.producer
    try:
        print(
            f"latency at an offered {args.rate:.0f} mentions/s for {args.latency_seconds:.0f}s...", flush=True
        )
        delays = latency(
            producer, topic, es, index, mentions(int(args.rate * args.latency_seconds), "l"), args.rate
        )
        p50, p95 = percentiles(delays)
        rss = {"after warm-up": memory_mib(worker.process.pid, "VmRSS")}

        curve: list[tuple[float, float, tuple[float, float]]] = []
        probe_rate = settled = None
        if args.curve_seconds > 0:
            probe = mentions(args.curve_probe, "p")
            print(f"latency curve: maximum throughput over {len(probe):,} mentions...", flush=True)
            probe_rate = flood(producer, topic, probe, settings.worker.web_port, worker)
            settled = settle(settings.worker.web_port)
            for part in CURVE:
                offered = part * probe_rate
                print(
                    f"latency curve: {part:.0%} of {probe_rate:.0f}/s = {offered:.0f} mentions/s...",
                    flush=True,
                )
                batch = mentions(int(offered * args.curve_seconds), f"c{part}")
                curve.append(
                    (part, offered, percentiles(latency(producer, topic, es, index, batch, offered)))
                )
        base = count(es, index)
        print(f"throughput: {len(load):,} mentions published at once...", flush=True)
        processes = {"worker": worker.process.pid, "this script": os.getpid()}
        processes.update({c.name: c.process.pid for c in (servers.children if servers else [])})
        others = frozenset(processes.values())
        cpu_before = {name: cpu_seconds(pid, others - {pid}) for name, pid in processes.items()}
        target = indexed(settings.worker.web_port, worker) + len(load)  # read before the first send
        profiler = Profiler(worker.process.pid, args.profile) if args.profile else None
        started = time.monotonic()
        publish(producer, topic, load)
        published = time.monotonic() - started
        # Wait on the worker's own count of what Elasticsearch acknowledged, then check once
        # that it is all searchable. Polling _count meanwhile would measure the search server's
        # counting instead: noida-db counts by scanning (0.5 s of CPU per call at 20,000 docs).
        while (done_now := indexed(settings.worker.web_port, worker)) < target:  # raises if it died
            if f"at {CHECKPOINT:,}" not in rss and done_now >= target - len(load) + CHECKPOINT:
                rss[f"at {CHECKPOINT:,}"] = memory_mib(worker.process.pid, "VmRSS")
            time.sleep(0.2)
        rss[f"at {len(load):,}"] = memory_mib(worker.process.pid, "VmRSS")
        while count(es, index) < base + len(load):
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        rate = len(load) / elapsed
        cpu = {name: cpu_seconds(pid, others - {pid}) - cpu_before[name] for name, pid in processes.items()}
        if profiler:
            profiler.stop()
        metrics = worker_metrics(settings.worker.web_port)
        memory = memory_mib(worker.process.pid)
    finally:
        worker.stop()
        if servers:
            servers.stop()

    share = rate / alone
    print("\nresults")
    print(
        f"  end to end:      {rate:7.1f} mentions/s ({len(load):,} in {elapsed:.0f}s; "
        f"publishing took {published:.0f}s)"
    )
    print(f"  scorer alone:    {alone:7.1f} texts/s")
    print(f"  ratio:           {share:7.2f} (end to end / scorer alone)")
    print(
        f"  latency at {args.rate:.0f}/s: p50 {p50:.2f}s, p95 {p95:.2f}s over {len(delays)} mentions "
        f"(publish to searchable)"
    )
    if probe_rate is not None and settled is not None:
        print(
            f"  latency curve (before the throughput run, on a smaller index): maximum over "
            f"{args.curve_probe:,} mentions {probe_rate:.1f}/s; every agent caught up {settled:.0f}s later"
        )
    for part, offered, (c50, c95) in curve:
        print(f"  latency at {part:.0%} of it ({offered:.0f}/s): p50 {c50:.2f}s, p95 {c95:.2f}s")
    print(
        f"  worker peak RSS: {memory:.0f} MiB; "
        f"scorer time in worker {metrics.get(Metric.SCORE_SECONDS.value, 0):.0f}s"
    )
    print("  worker RSS: " + ", ".join(f"{when} {mib:.0f} MiB" for when, mib in rss.items()))
    print(
        "  CPU seconds during the throughput run: "
        + ", ".join(f"{name} {seconds:.0f}" for name, seconds in cpu.items())
        + f" (of {(os.cpu_count() or 1) * elapsed:.0f} available)"
    )
    if profiler:
        print(f"\nworker profile during the throughput run ({profiler.out}; samples per thread):")
        print("\n".join(profiler.summary()))
    print(
        f"\n{'PASS' if share >= TARGET_SHARE else 'MISS'}  end to end >= {TARGET_SHARE:.0%} of scorer alone"
    )
    print(f"{'PASS' if p95 <= TARGET_P95 else 'MISS'}  p95 latency <= {TARGET_P95:.0f}s at {args.rate:.0f}/s")
    print(f"{'PASS' if memory <= TARGET_MEMORY_MIB else 'MISS'}  worker peak RSS <= {TARGET_MEMORY_MIB} MiB")


if __name__ == "__main__":
    main()

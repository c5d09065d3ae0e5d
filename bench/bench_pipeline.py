"""End-to-end pipeline benchmark: broker -> scoring (real model) -> search index.

    .venv/bin/python bench/bench_pipeline.py [--mentions 20000] [--latency-seconds 30]

In one run, on this machine (broker, search server, worker and this script share the cores):
1. the scorer alone scores the same texts in batches of 64 (the worker's batch size);
2. publish-to-searchable latency at an offered load of 50 mentions/s (p50, p95);
3. throughput: all mentions published at once, timed until every one is searchable;
4. the worker's peak memory (VmHWM), and its memory (VmRSS) after warm-up, at 20,000 mentions
   and at the end of the throughput run: flat when ``--mentions 100000`` ends where 20,000 did.
Uses the embedded Tansu and noida-db, or KAFKA_BOOTSTRAP_SERVERS and ELASTICSEARCH_URL when set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
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
from streams.worker.metrics import Metric

TARGET_SHARE, TARGET_P95, TARGET_MEMORY_MIB = 0.70, 5.0, 1024
CHECKPOINT = 20_000


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


def settings_for(bootstrap: str, url: str, folder: Path) -> Settings:
    run = uuid.uuid4().hex[:8]
    return load_settings(
        None,
        kafka={
            "bootstrap_servers": bootstrap,
            "topic_prefix": f"bench-{run}",
            "partitions": 4,
            "group_id": f"bench-{run}",
            "session_timeout_s": 6,
            "heartbeat_interval_s": 1,
        },
        elasticsearch={"url": url, "index_prefix": f"bench-{run}"},
        worker={"web_port": free_port(), "data_dir": str(folder / "worker")},
    )


def count(es: Elasticsearch, index: str) -> int:
    return int(es.count(index=index)["count"])


def indexed(port: int, worker: Child) -> float:
    """The worker's count of mentions Elasticsearch acknowledged. Asks again when the page does
    not answer in time (a busy event loop), instead of reading that as zero."""
    while not (metrics := worker_metrics(port, timeout_s=30)):
        if not worker.alive():
            raise SystemExit(f"worker died:\n{worker.tail(30)}")
        time.sleep(0.5)
    return metrics.get(Metric.INDEXED.value, 0.0)


def wait_ready(port: int, worker_alive: object, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker_metrics(port):
            return
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=50.0, help="offered load for the latency phase")
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
    from streams.cli.worker import prepare

    prepare(settings)
    worker = start_worker(write_config(settings, folder / "flarewatch.yaml"), folder)
    try:
        wait_ready(settings.worker.web_port, worker)
        es = Elasticsearch(url)
        index = layout(settings.elasticsearch).mentions
        topic = Topics(settings.kafka.topic_prefix).raw
        producer = KafkaProducer(bootstrap_servers=settings.kafka.servers, acks="all", linger_ms=5)
        warm = mentions(200, "w")
        for m in warm:
            producer.send(topic, key=m.partition_key, value=m.model_dump_json().encode())
        producer.flush()
        while count(es, index) < len(warm):
            time.sleep(0.5)

        print(
            f"latency at an offered {args.rate:.0f} mentions/s for {args.latency_seconds:.0f}s...", flush=True
        )
        delays = latency(
            producer, topic, es, index, mentions(int(args.rate * args.latency_seconds), "l"), args.rate
        )
        p50, p95 = statistics.quantiles(delays, n=100)[49], statistics.quantiles(delays, n=100)[94]
        base = count(es, index)

        rss = {"after warm-up": memory_mib(worker.process.pid, "VmRSS")}
        print(f"throughput: {len(load):,} mentions published at once...", flush=True)
        processes = {"worker": worker.process.pid, "this script": os.getpid()}
        processes.update({c.name: c.process.pid for c in (servers.children if servers else [])})
        others = frozenset(processes.values())
        cpu_before = {name: cpu_seconds(pid, others - {pid}) for name, pid in processes.items()}
        target = indexed(settings.worker.web_port, worker) + len(load)  # read before the first send
        started = time.monotonic()
        for m in load:
            producer.send(topic, key=m.partition_key, value=m.model_dump_json().encode())
        producer.flush()
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
    print(
        f"\n{'PASS' if share >= TARGET_SHARE else 'MISS'}  end to end >= {TARGET_SHARE:.0%} of scorer alone"
    )
    print(f"{'PASS' if p95 <= TARGET_P95 else 'MISS'}  p95 latency <= {TARGET_P95:.0f}s")
    print(f"{'PASS' if memory <= TARGET_MEMORY_MIB else 'MISS'}  worker peak RSS <= {TARGET_MEMORY_MIB} MiB")


if __name__ == "__main__":
    main()

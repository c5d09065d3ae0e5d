"""Faults tried on purpose: drivers shared by ``test_faults.py`` and ``bench/bench_faults.py``.

Each driver runs one fault against a running harness (real broker, real search server, the real
worker with the fixed or the real scorer), waits until the worker has caught up, and returns a
:class:`FaultResult`: what Elasticsearch and the dead-letter topic hold compared with what was sent.
The tests assert on it with a small load; the bench prints it for a large one.
"""

from __future__ import annotations

import base64
import itertools
import random
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaProducer

from streams.contracts.records import Author, DeadLetter, Platform, RawMention
from streams.devstack.children import Child
from streams.devstack.embedded import EmbeddedServers
from streams.kafka.dead_letter_reader import Selection, read_dead_letters
from streams.search.client import layout
from tests.integration.bad_messages import BadMessage
from tests.integration.conftest import Harness, wait_for

T0 = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
TEXTS = (
    "Platnosc BLIK nie dziala od rana, co jest?",
    "Kurier znowu spozniony, paczka nie dotarla",
    "super obsluga, dziekuje!",
    "Where is my refund? Two weeks already.",
    "A csomag megint kesik, nem jott meg",
    "great app, fast delivery",
    "zwykly komentarz o zakupach w weekend",
    "broken zipper after one day of use",
)
THREAD_SIZE = 5
MODEL_BATCH_S = 0.7
"""A scoring batch of 64 with the real model on two cores (bench_scoring): the slow-consumer
fault makes batches ``factor`` times longer than this."""


@dataclass(frozen=True, slots=True)
class FaultResult:
    fault: str
    sent: int
    """Valid mentions sent."""
    indexed: int
    """Distinct mentions in the index that were sent."""
    lost: int
    duplicates: int
    """Mentions counted more than once: an id twice in the mentions index, or a thread
    counting more mentions than were sent to it."""
    dead_letters: int
    recovery_s: float
    """From the end of the fault (server back, slowness over) to every mention indexed; for the
    kills, the longest gap from a kill to new progress; for faults that last the whole run
    (throttling, bad messages), the whole run."""
    notes: str = ""


@dataclass
class Run:
    """One fault run: the harness, and how to start the worker (fixed or real scorer; the delay
    file slows scoring down while the worker runs)."""

    harness: Harness
    real_model: bool = False
    seed: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @property
    def delay_file(self) -> Path:
        return self.harness.folder / "scoring-delay"

    def start_worker(self) -> Child:
        return self.harness.start_fake_worker(self.delay_file, self.real_model)

    def slow_scoring(self, seconds: float) -> None:
        self.delay_file.write_text(f"{seconds}\n")


# -- what is sent, what arrived ----------------------------------------------------------------


def synthetic_mentions(n: int, seed: int, tag: str, brands: tuple[str, ...]) -> list[RawMention]:
    """``n`` valid mentions in conversations of five, over the brands, two seconds apart."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        thread = i // THREAD_SIZE
        thread_rng = random.Random(f"{seed}-{thread}")
        out.append(
            RawMention(
                platform=thread_rng.choice(list(Platform)),
                native_id=f"{tag}-{i}",
                brand=thread_rng.choice(brands),
                author=Author(id=f"u{rng.randrange(1000)}", followers=rng.randrange(10_000)),
                text=f"{rng.choice(TEXTS)} ({tag} {i})",
                created_at=T0 + timedelta(seconds=2 * i),
                thread_id=f"{tag}-t{thread}",
                parent_id=f"{tag}-t{thread}" if i % THREAD_SIZE else None,
            )
        )
    return out


def index_count(h: Harness) -> int:
    names = layout(h.settings.elasticsearch)
    with h.search() as es:
        es.indices.refresh(index=names.mentions)
        return int(es.count(index=names.mentions)["count"])


def indexed_ids(h: Harness, page: int = 5000) -> Counter[str]:
    """Every mention id in the index with how often it occurs (paged with search_after)."""
    names = layout(h.settings.elasticsearch)
    ids: Counter[str] = Counter()
    after: list[str] | None = None
    with h.search() as es:
        es.indices.refresh(index=names.mentions)
        while True:
            hits = es.search(
                index=names.mentions,
                size=page,
                source_includes=["flarewatch.mention_id"],
                sort=[{"flarewatch.mention_id": "asc"}],
                search_after=after,
            )["hits"]["hits"]
            ids.update(hit["_source"]["flarewatch"]["mention_id"] for hit in hits)
            if len(hits) < page:
                return ids
            after = hits[-1]["sort"]


def thread_counts(h: Harness, keys: list[str]) -> dict[str, int]:
    """How many mentions each thread document counts (absent threads are left out)."""
    names = layout(h.settings.elasticsearch)
    counts = {}
    with h.search() as es:
        es.indices.refresh(index=names.threads)
        for start in range(0, len(keys), 1000):
            docs = es.mget(index=names.threads, ids=keys[start : start + 1000])["docs"]
            counts.update(
                {
                    d["_id"]: int(d["_source"]["flarewatch"]["thread"]["mentions"])
                    for d in docs
                    if d.get("found")
                }
            )
    return counts


def all_dead_letters(h: Harness) -> list[DeadLetter]:
    """Every dead letter in the topic, one per original message (a message dead-lettered again
    after a restart counts once)."""
    reading = read_dead_letters(h.settings.kafka, Selection(), timeout_s=120)
    assert reading.complete and not reading.unreadable, reading.unreadable[:5]
    return reading.letters


def tally(
    h: Harness, fault: str, mentions: list[RawMention], recovery_s: float, notes: str = ""
) -> FaultResult:
    expected = {m.mention_id for m in mentions}
    ids = indexed_ids(h)
    per_thread = Counter(m.thread_key for m in mentions)
    counted = thread_counts(h, list(per_thread))
    over = sum(max(0, counted.get(k, 0) - n) for k, n in per_thread.items())
    return FaultResult(
        fault=fault,
        sent=len(mentions),
        indexed=len(expected & set(ids)),
        lost=len(expected - set(ids)),
        duplicates=sum(c - 1 for c in ids.values()) + over,
        dead_letters=len(all_dead_letters(h)),
        recovery_s=round(recovery_s, 1),
        notes=notes,
    )


def produce_paced(h: Harness, mentions: list[RawMention], seconds: float) -> threading.Thread:
    """Send ``mentions`` evenly over ``seconds`` from a thread (started; join it)."""

    def send() -> None:
        producer = KafkaProducer(bootstrap_servers=h.settings.kafka.servers, acks="all", linger_ms=20)
        started = time.monotonic()
        for i, m in enumerate(mentions):
            producer.send(h.topics.raw, key=m.partition_key, value=m.model_dump_json().encode())
            ahead = started + seconds * (i + 1) / len(mentions) - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        producer.flush()
        producer.close()

    thread = threading.Thread(target=send, name="paced-producer", daemon=True)
    thread.start()
    return thread


def at_least(h: Harness, n: int) -> Callable[[], bool]:
    return lambda: index_count(h) >= n


def wait_indexed(h: Harness, n: int, timeout_s: float, worker: Child | None) -> None:
    wait_for(at_least(h, n), timeout_s, f"{n} mentions indexed", worker)


# -- worker state --------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class RssSampler:
    """Samples a process's RSS every ``every_s`` from a thread while in a ``with`` block."""

    pid: int
    every_s: float = 1.0
    samples: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - started, rss_mb(self.pid)))
            self._stop.wait(self.every_s)

    @property
    def peak_mb(self) -> float:
        return max((mb for _, mb in self.samples), default=0.0)


def health(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def group_joins(log_text: str) -> int:
    """How often the worker (re)joined its consumer group: once at the start, once more per
    rebalance it went through."""
    return sum(1 for line in log_text.splitlines() if "(Re-)joining group" in line)


# -- the faults ----------------------------------------------------------------------------


def sigkill_restarts(run: Run, mentions: list[RawMention], kills: int = 5) -> FaultResult:
    """Kill the worker with SIGKILL ``kills`` times at seeded random points of progress (plus a
    random fraction of a second, to land mid-batch), restarting it at once each time.

    The mentions go out in ``kills + 1`` parts, the next one right after each restart, so every
    restarted worker has work to show progress on (the kill-to-progress gap is measured)."""
    h = run.harness
    size = -(-len(mentions) // (kills + 1))
    parts = [mentions[i : i + size] for i in range(0, len(mentions), size)]
    h.produce_mentions(parts[0])
    worker = run.start_worker()
    sent, points, gaps = len(parts[0]), [], []
    for part, following in itertools.pairwise(parts):
        point = sent - len(part) + run.rng.randrange(len(part) // 10, len(part) * 9 // 10)
        wait_for(at_least(h, point), 300, f"{point} mentions indexed", worker)
        time.sleep(run.rng.uniform(0, 0.5))
        worker.stop(signal.SIGKILL, timeout=10)
        h.workers.remove(worker)  # killed on purpose: its log is no failure to print
        killed_at, at = time.monotonic(), index_count(h)
        worker = run.start_worker()
        h.produce_mentions(following)
        sent += len(following)
        wait_for(at_least(h, at + 1), 300, "progress after the restart", worker)
        points.append(at)
        gaps.append(time.monotonic() - killed_at)
    wait_indexed(h, len(mentions), 300, worker)
    gap_list = ", ".join(f"{g:.0f}" for g in gaps)
    return tally(
        h,
        f"worker SIGKILL x{len(gaps)}",
        mentions,
        max(gaps),
        f"killed with {points} indexed; kill to progress: {gap_list} s",
    )


@dataclass(frozen=True, slots=True)
class OutageReport:
    result: FaultResult
    rss_before_mb: float
    rss_peak_mb: float
    samples: list[tuple[float, float]]


def search_outage(
    run: Run, search: EmbeddedServers, mentions: list[RawMention], outage_s: float = 60.0
) -> OutageReport:
    """Stop the search server (``search``, the one the harness writes to) for ``outage_s`` while
    a producer keeps sending; sample the worker's RSS; start it again and wait for catch-up."""
    h = run.harness
    first, rest = mentions[: len(mentions) // 10], mentions[len(mentions) // 10 :]
    worker = run.start_worker()
    h.produce_mentions(first)
    wait_indexed(h, len(first), 240, worker)
    before = rss_mb(worker.process.pid)
    with RssSampler(worker.process.pid) as sampler:
        producer = produce_paced(h, rest, outage_s * 0.8)
        search.stop()
        time.sleep(outage_s)
        assert worker.alive(), worker.why(40)
        search.start_search_only()  # same port, same data folder
        back = time.monotonic()
        producer.join()
        wait_indexed(h, len(mentions), 600, worker)
        recovery = time.monotonic() - back
    result = tally(
        h,
        f"search server down {outage_s:.0f}s",
        mentions,
        recovery,
        f"worker RSS {before:.0f} MB before, peak {sampler.peak_mb:.0f} MB",
    )
    return OutageReport(result, before, sampler.peak_mb, sampler.samples)


def throttled_bulk(run: Run, mentions: list[RawMention], proxy_summary: Callable[[], str]) -> FaultResult:
    """The harness writes through a throttling proxy (set up by the caller) for the whole run."""
    h = run.harness
    worker = run.start_worker()
    started = time.monotonic()
    h.produce_mentions(mentions)
    wait_indexed(h, len(mentions), 600, worker)
    return tally(h, "bulk items 429/503", mentions, time.monotonic() - started, proxy_summary())


@dataclass(frozen=True, slots=True)
class SlowReport:
    result: FaultResult
    joins_at_start: int
    """Group joins logged before the slowness (1: the log shows joins, and there was one)."""
    rejoins: int
    slow_batches: int
    batch_s: float


def slow_consumer(
    run: Run, mentions: list[RawMention], factor: float = 10.0, slow_s: float = 30.0
) -> SlowReport:
    """Scoring batches ``factor`` times longer than the real model's for ``slow_s`` seconds while
    mentions keep coming; then normal speed. Counts the worker's group (re)joins."""
    h = run.harness
    batch_s = factor * MODEL_BATCH_S
    worker = run.start_worker()
    first, rest = mentions[: len(mentions) // 10], mentions[len(mentions) // 10 :]
    h.produce_mentions(first)
    wait_indexed(h, len(first), 240, worker)
    joins_before = group_joins(worker.log_path.read_text(errors="replace"))
    run.slow_scoring(batch_s)
    producer = produce_paced(h, rest, slow_s)
    time.sleep(slow_s)
    run.slow_scoring(0)
    fast_again = time.monotonic()
    producer.join()
    wait_indexed(h, len(mentions), 600, worker)
    recovery = time.monotonic() - fast_again
    log_text = worker.log_path.read_text(errors="replace")
    slow = sum(1 for ms in _batch_ms(log_text) if ms >= 1000 * batch_s * 0.9)
    rejoins = group_joins(log_text) - joins_before
    result = tally(
        h,
        f"scoring {factor:.0f}x slower for {slow_s:.0f}s",
        mentions,
        recovery,
        f"batch {batch_s:.1f}s, {slow} slow batches, {rejoins} group rejoins",
    )
    return SlowReport(result, joins_before, rejoins, slow, batch_s)


def _batch_ms(log_text: str) -> Iterator[float]:
    for line in log_text.splitlines():
        if "score batch=" in line and " ms=" in line:
            yield float(line.rsplit(" ms=", 1)[1].split()[0])


FUZZ_DLQ_LIMITS = {"dlq_max_invalid_ratio": 0.9, "dlq_max_consecutive": 200}
"""Worker settings for the bad-message fault: two bad messages per valid one are accepted
(by default the worker stops, on purpose, when most recent messages are bad)."""


@dataclass(frozen=True, slots=True)
class FuzzReport:
    result: FaultResult
    wrong: list[str]
    """Bad messages not dead-lettered, or dead-lettered without the expected reason."""
    health: tuple[int, str]


def fuzzed_bad_messages(run: Run, mentions: list[RawMention], bad: list[BadMessage]) -> FuzzReport:
    """Bad messages shuffled among valid mentions through the running worker."""
    h = run.harness
    values: list[tuple[bytes | None, bytes]] = [
        (m.partition_key, m.model_dump_json().encode()) for m in mentions
    ]
    values += [(b.key, b.value) for b in bad]
    run.rng.shuffle(values)
    worker = run.start_worker()
    started = time.monotonic()
    h.produce(values)
    wait_indexed(h, len(mentions), 600, worker)
    letters: dict[bytes, DeadLetter] = {}
    deadline = time.monotonic() + 120
    while len(letters) < len(bad) and time.monotonic() < deadline:
        letters = {base64.b64decode(d.key_b64 or ""): d for d in all_dead_letters(h)}
    elapsed = time.monotonic() - started
    wrong = [_wrong(b, letters.get(b.key)) for b in bad]
    kinds = Counter(b.kind for b in bad)
    result = tally(h, f"{len(bad):,} fuzzed bad messages", mentions, elapsed, f"{len(kinds)} kinds")
    return FuzzReport(result, [w for w in wrong if w], health(h.settings.worker.web_port))


def _wrong(bad: BadMessage, letter: DeadLetter | None) -> str:
    if letter is None:
        return f"{bad.key!r}: not dead-lettered"
    if bad.reason not in letter.reason or letter.stage != bad.stage:
        return f"{bad.key!r}: {letter.stage}/{letter.reason!r}, expected {bad.stage}/{bad.reason!r}"
    return ""

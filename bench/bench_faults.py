"""Faults tried on purpose, at scale: the fault suite's drivers with more mentions, one table.

    .venv/bin/python bench/bench_faults.py [--mentions 20000] [--real-model] [--faults kill,outage,...]

Each fault runs on fresh topics and indices against the embedded broker and search server
(started here), with the real worker and the fixed scorer (``--real-model``: the real one):
- kill: the worker killed with SIGKILL five times at random points, restarted each time;
- outage: the search server stopped for ``--outage-seconds`` while mentions keep coming;
- throttle: a proxy answers 10% of bulk items 429/503, every 10th bulk request 503, and loses
  every 15th acknowledgement;
- slow: scoring batches 10x the real model's batch time for 30 s;
- fuzz: as many bad messages of every kind as valid mentions, shuffled together.
Prints: fault, mentions sent, indexed, duplicates, dead letters, recovery time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.config.settings import Settings, load_settings
from streams.contracts.records import RawMention
from streams.devstack.embedded import EmbeddedServers, free_port
from tests.integration.bad_messages import bad_messages
from tests.integration.conftest import Harness, running
from tests.integration.faults import (
    FUZZ_DLQ_LIMITS,
    FaultResult,
    Run,
    fuzzed_bad_messages,
    search_outage,
    sigkill_restarts,
    slow_consumer,
    synthetic_mentions,
    throttled_bulk,
)
from tests.integration.proxy import FaultyProxy, Script

BRANDS = ("zakupowo", "kosarka")


def bench_settings(
    bootstrap: str, url: str, folder: Path, worker: Mapping[str, float] | None = None
) -> Settings:
    """Fresh topics, indices and group; the worker's batch sizes are the defaults."""
    run = uuid.uuid4().hex[:8]
    return load_settings(
        None,
        kafka={
            "bootstrap_servers": bootstrap,
            "topic_prefix": f"faults-{run}",
            "partitions": 4,
            "group_id": f"faults-{run}",
            "session_timeout_s": 6,
            "heartbeat_interval_s": 1,
        },
        elasticsearch={"url": url, "index_prefix": f"faults-{run}"},
        worker={"web_port": free_port(), "data_dir": str(folder / "worker"), **(worker or {})},
        brands=[{"name": b, "terms": [b]} for b in BRANDS],
    )


def kill(bench: Bench, folder: Path) -> FaultResult:
    with running(bench.settings(folder), folder) as harness:
        return sigkill_restarts(bench.run(harness), bench.mentions("kill"), kills=5)


def outage(bench: Bench, folder: Path) -> FaultResult:
    search = EmbeddedServers(folder / "own-search").start_search_only()
    try:
        with running(bench.settings(folder, url=search.search_url), folder) as harness:
            report = search_outage(bench.run(harness), search, bench.mentions("outage"), bench.outage_s)
    finally:
        search.stop()
    return report.result


def throttle(bench: Bench, folder: Path) -> FaultResult:
    proxy = FaultyProxy(bench.servers.search_url, Script(bench.seed))
    proxy.start()
    try:
        with running(bench.settings(folder, url=proxy.url), folder) as harness:
            return throttled_bulk(bench.run(harness), bench.mentions("throttle"), proxy.stats.summary)
    finally:
        proxy.stop()


def slow(bench: Bench, folder: Path) -> FaultResult:
    with running(bench.settings(folder), folder) as harness:
        return slow_consumer(bench.run(harness), bench.mentions("slow"), factor=10, slow_s=30).result


def fuzz(bench: Bench, folder: Path) -> FaultResult:
    settings = bench.settings(folder, worker=FUZZ_DLQ_LIMITS)
    with running(settings, folder) as harness:
        report = fuzzed_bad_messages(
            bench.run(harness),
            bench.mentions("fuzz"),
            bad_messages(bench.n, bench.seed, fixed_scorer=not bench.real_model),
        )
    wrong = f"; {len(report.wrong)} bad messages not dead-lettered as expected" if report.wrong else ""
    status = f"; /health {report.health[0]}"
    return replace(report.result, notes=report.result.notes + wrong + status)


FAULTS: dict[str, Callable[[Bench, Path], FaultResult]] = {
    "kill": kill,
    "outage": outage,
    "throttle": throttle,
    "slow": slow,
    "fuzz": fuzz,
}


@dataclass(frozen=True)
class Bench:
    servers: EmbeddedServers
    folder: Path
    n: int
    real_model: bool
    seed: int
    outage_s: float

    def settings(
        self, folder: Path, url: str | None = None, worker: Mapping[str, float] | None = None
    ) -> Settings:
        return bench_settings(self.servers.bootstrap, url or self.servers.search_url, folder, worker)

    def run(self, harness: Harness) -> Run:
        return Run(harness, self.real_model, self.seed)

    def mentions(self, tag: str) -> list[RawMention]:
        return synthetic_mentions(self.n, self.seed, tag, BRANDS)


def table(results: list[FaultResult]) -> str:
    header = (
        f"{'fault':<34} {'sent':>8} {'indexed':>8} {'lost':>6} {'dupes':>6} "
        f"{'dead letters':>13} {'recovery s':>11}"
    )
    rows = [header, "-" * len(header)]
    for r in results:
        rows.append(
            f"{r.fault:<34} {r.sent:>8,} {r.indexed:>8,} {r.lost:>6,} {r.duplicates:>6,} "
            f"{r.dead_letters:>13,} {r.recovery_s:>11.1f}"
        )
    rows.append("")
    rows += [f"{r.fault}: {r.notes}" for r in results if r.notes]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--real-model", action="store_true", help="the real scorer, not the fixed one")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, of {', '.join(FAULTS)}")
    parser.add_argument("--outage-seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    chosen = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = sorted(set(chosen) - set(FAULTS))
    if unknown:
        parser.error(f"unknown faults: {', '.join(unknown)}")
    folder = Path(tempfile.mkdtemp(prefix="flarewatch-faults-"))
    servers = EmbeddedServers(folder / "servers", print).start()
    bench = Bench(servers, folder, args.mentions, args.real_model, args.seed, args.outage_seconds)
    results = []
    try:
        for name in chosen:
            print(f"fault {name}: {args.mentions:,} mentions...", flush=True)
            started = time.monotonic()
            results.append(FAULTS[name](bench, folder / name))
            print(f"  done in {time.monotonic() - started:.0f}s: {results[-1]}", flush=True)
    finally:
        servers.stop()
    print()
    print(table(results))
    if any(r.lost or r.duplicates for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()

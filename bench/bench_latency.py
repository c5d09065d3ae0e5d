"""Publish-to-searchable latency: today's defaults against the settings they replaced, in one run.

    .venv/bin/python bench/bench_latency.py [--rate 50] [--seconds 30]

One broker and one search server (embedded, or KAFKA_BOOTSTRAP_SERVERS and ELASTICSEARCH_URL);
for each configuration in turn a worker of its own (the real model) on topics and indices of its
own: 200 mentions to warm up, then mentions offered at ``--rate`` per second for ``--seconds``,
each timed from its send until a search finds it (polled every 0.1 s, which adds about 0.05 s).

The configurations differ only in the three settings that decide how long a lone mention waits:
- ``before``: what they were, Faust's fixed 1,500 ms fetch wait, 0.5 s and 1.0 s batch timeouts,
  and the search server's default 1 s refresh;
- ``now``: the defaults (100 ms, 0.02 s, 0.05 s, 500 ms).
Prints p50 and p95 for each, their ratio, and PASS or MISS for p95 <= 1 s with the defaults.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_pipeline import latency, mentions, percentiles, settings_for, start_run

from streams.devstack.embedded import EmbeddedServers

TARGET_P95 = 1.0
CONFIGS: dict[str, dict[str, dict[str, object]]] = {
    "before": {
        "kafka": {"fetch_max_wait_ms": 1500},
        "worker": {"score_batch_timeout_s": 0.5, "index_batch_timeout_s": 1.0},
        "elasticsearch": {"refresh_interval": "1s"},
    },
    "now": {},
}


def measure(
    name: str, overrides: dict[str, dict[str, object]], bootstrap: str, url: str, rate: float, seconds: float
) -> list[float]:
    folder = Path(tempfile.mkdtemp(prefix=f"flarewatch-latency-{name}-"))
    run = start_run(settings_for(bootstrap, url, folder, overrides), folder, f"w{name}")
    try:
        print(f"{name}: {rate:.0f} mentions/s for {seconds:.0f}s...", flush=True)
        batch = mentions(int(rate * seconds), f"l{name}")
        delays = latency(run.producer, run.topic, run.es, run.index, batch, rate)
        run.producer.close()
        return delays
    finally:
        run.worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("ELASTICSEARCH_URL")
    servers = None
    if not all(external):
        servers = EmbeddedServers(Path(tempfile.mkdtemp(prefix="flarewatch-latency-")), print).start()
        external = servers.bootstrap, servers.search_url
    bootstrap, url = external
    assert bootstrap and url
    results = {}
    try:
        for name, overrides in CONFIGS.items():
            results[name] = percentiles(measure(name, overrides, bootstrap, url, args.rate, args.seconds))
    finally:
        if servers:
            servers.stop()
    print(f"\npublish to searchable at {args.rate:.0f} mentions/s ({args.seconds:.0f}s each)")
    for name, (p50, p95) in results.items():
        print(f"  {name:7s} p50 {p50:.2f}s  p95 {p95:.2f}s")
    (b50, b95), (n50, n95) = results["before"], results["now"]
    print(f"  ratio   p50 {b50 / n50:.1f}x  p95 {b95 / n95:.1f}x lower now")
    print(f"\n{'PASS' if n95 <= TARGET_P95 else 'MISS'}  p95 <= {TARGET_P95:.0f}s at {args.rate:.0f}/s")


if __name__ == "__main__":
    main()

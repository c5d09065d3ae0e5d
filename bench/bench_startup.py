"""Worker start-up: seconds from starting ``flarewatch worker`` until ``/health/ready`` answers 200
(broker and search server reached, the model loaded and ready to score).

    .venv/bin/python bench/bench_startup.py [--cold] [--runs 3]

Starts the embedded servers once, then the worker ``--runs`` times with the model cache warm (the
one ``flarewatch model build`` filled); with ``--cold``, first once more with an empty cache of its
own, so the worker builds the encoder (export to ONNX, quantisation, vocabulary) before it is
ready. Prints each time, and PASS or MISS for a warm start within 10 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_pipeline import settings_for

from streams.devstack.demo import start_worker, write_config
from streams.devstack.embedded import EmbeddedServers

TARGET_WARM_S = 10.0


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_once(servers: EmbeddedServers, cache: Path | None, timeout_s: float) -> float:
    folder = Path(tempfile.mkdtemp(prefix="flarewatch-startup-"))
    scoring: dict[str, object] = {} if cache is None else {"cache_dir": str(cache)}
    settings = settings_for(servers.bootstrap, servers.search_url, folder, {"scoring": scoring})
    from streams.cli.worker import prepare

    prepare(settings)  # topics and indices first: not the worker's start-up
    config = write_config(settings, folder / "flarewatch.yaml")
    started = time.monotonic()
    worker = start_worker(config, folder)
    try:
        while not ready(settings.worker.web_port):
            if not worker.alive():
                raise SystemExit(f"the worker died:\n{worker.why(30)}")
            if time.monotonic() - started > timeout_s:
                raise SystemExit(f"the worker was not ready within {timeout_s:.0f}s")
            time.sleep(0.1)
        return time.monotonic() - started
    finally:
        worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also start once with an empty model cache")
    args = parser.parse_args()
    servers = EmbeddedServers(Path(tempfile.mkdtemp(prefix="flarewatch-startup-")), print).start()
    try:
        cold = None
        if args.cold:
            print("cold cache: the worker builds the encoder first...", flush=True)
            cold = start_once(servers, Path(tempfile.mkdtemp(prefix="flarewatch-cache-")), 3600)
            print(f"  ready after {cold:.1f}s", flush=True)
        warm = []
        for run in range(args.runs):
            warm.append(start_once(servers, None, 600))
            print(f"warm cache, run {run + 1}: ready after {warm[-1]:.1f}s", flush=True)
    finally:
        servers.stop()
    print("\nworker start to /health/ready")
    if cold is not None:
        print(f"  cold cache: {cold:.1f}s")
    print(f"  warm cache: median {statistics.median(warm):.1f}s, worst {max(warm):.1f}s of {len(warm)}")
    print(
        f"\n{'PASS' if max(warm) <= TARGET_WARM_S else 'MISS'}  ready within {TARGET_WARM_S:.0f}s, cache warm"
    )


if __name__ == "__main__":
    main()
